"""Write the bundled corpus: ``python -m chalicelib.dispatch.corpus --out data/dispatch``.

``corpus.csv`` and ``heldout.csv`` come from the corpus generator; ``unlike_calibration.csv`` and
``unlike_test.csv`` from the second generator (:mod:`.unlike`), which the model never trains on.
"""
from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

from .generator import generate
from .unlike import generate_unlike

TRAIN_PER_DEPT = 500
HELDOUT_PER_DEPT = 60
SEED_TRAIN = 20240501
SEED_HELDOUT = 20240502
UNLIKE_PER_DEPT = 60
SEED_UNLIKE_CALIBRATION = 20261206
SEED_UNLIKE_TEST = 20261207


def write(path: Path, records) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["text", "label", "district"])
        for r in records:
            w.writerow([r.text, r.label, r.district or ""])


def write_unlike(path: Path, records) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["text", "label", "frame", "matter"])
        for r in records:
            w.writerow([r.text, r.label, r.frame, r.matter])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="data/dispatch")
    ap.add_argument("--train", type=int, default=TRAIN_PER_DEPT)
    ap.add_argument("--heldout", type=int, default=HELDOUT_PER_DEPT)
    ap.add_argument("--unlike", type=int, default=UNLIKE_PER_DEPT)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train = generate(args.train, "train", SEED_TRAIN)
    heldout = generate(args.heldout, "heldout", SEED_HELDOUT, exclude={r.text for r in train})
    write(out / "corpus.csv", train)
    write(out / "heldout.csv", heldout)
    calibration = generate_unlike(args.unlike, "calibration", SEED_UNLIKE_CALIBRATION)
    test = generate_unlike(args.unlike, "test", SEED_UNLIKE_TEST)
    write_unlike(out / "unlike_calibration.csv", calibration)
    write_unlike(out / "unlike_test.csv", test)
    print(f"corpus.csv: {len(train)} records, heldout.csv: {len(heldout)} records, "
          f"unlike_calibration.csv: {len(calibration)}, unlike_test.csv: {len(test)}")
    print("forms:", dict(Counter(r.form for r in train)))


if __name__ == "__main__":
    main()
