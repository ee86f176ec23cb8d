"""Write the bundled corpus: ``python -m chalicelib.dispatch.corpus --out data/dispatch``."""
from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

from .generator import generate

TRAIN_PER_DEPT = 260
HELDOUT_PER_DEPT = 60
SEED_TRAIN = 20240501
SEED_HELDOUT = 20240502


def write(path: Path, records) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["text", "label", "district"])
        for r in records:
            w.writerow([r.text, r.label, r.district or ""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="data/dispatch")
    ap.add_argument("--train", type=int, default=TRAIN_PER_DEPT)
    ap.add_argument("--heldout", type=int, default=HELDOUT_PER_DEPT)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train = generate(args.train, "train", SEED_TRAIN)
    heldout = generate(args.heldout, "heldout", SEED_HELDOUT, exclude={r.text for r in train})
    write(out / "corpus.csv", train)
    write(out / "heldout.csv", heldout)
    print(f"corpus.csv: {len(train)} records, heldout.csv: {len(heldout)} records")
    print("forms:", dict(Counter(r.form for r in train)))


if __name__ == "__main__":
    main()
