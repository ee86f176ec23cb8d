"""``python -m chalicelib.local run``: start the embedded local runtime (what ``make run`` calls)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from chalicelib.local.runtime import ROOT, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.local")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the whole platform on 127.0.0.1")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    run.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_PORT", "0")))
    run.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DATA_DIR", ROOT / ".data")))
    run.add_argument("--reset", action="store_true", help="ignore .data/ and seed fresh demo data")
    run.add_argument("--clock-speed", type=float, default=float(os.environ.get("CLOCK_SPEED", "1")),
                     help="run schedules this many times faster than real time (demos)")
    run.add_argument("--demo-tickets", type=int, default=int(os.environ.get("DEMO_TICKETS", "1500")),
                     help="demo tickets to seed on a fresh start (0: none)")
    args = parser.parse_args(argv)
    if args.command == "run":
        return serve(args.port, args.aws_port, args.data_dir, args.reset, args.clock_speed, args.demo_tickets)
    return 2


if __name__ == "__main__":
    sys.exit(main())
