"""``python -m chalicelib.dispatch``: see :mod:`chalicelib.dispatch.cli`."""
from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
