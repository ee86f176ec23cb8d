"""The command line (a stable contract; see issue 5).

    python -m chalicelib.dispatch train --data FILE.csv [--text-column text] [--label-column label] --out DIR
        [--calibration FILE.csv] [--heldout FILE.csv] [--test FILE.csv]
    python -m chalicelib.dispatch evaluate [--model DIR] --data FILE.csv
    python -m chalicelib.dispatch cross-validate --data FILE.csv --folds 5
    python -m chalicelib.dispatch districts --data FILE.csv

Each command prints one JSON object as its last line of standard output. Progress goes to
standard error.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..domain.errors import DomainError, ValidationFailed
from .metrics import DEFAULT_CONFIDENCE_Z, DEFAULT_MIN_THRESHOLD, DEFAULT_TARGET_PRECISION


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _emit(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False, sort_keys=False))


def _config(args: argparse.Namespace):
    from .training import TrainConfig

    return TrainConfig(target_precision=args.target_precision, min_threshold=args.min_threshold,
                       confidence_z=args.confidence_z,
                       duty_documents=not args.no_duty_documents, knowledge=not args.no_knowledge)


def cmd_train(args: argparse.Namespace) -> dict:
    from . import artifact
    from .training import fit, read_dataset

    data = read_dataset(args.data, args.text_column, args.label_column)
    started = time.perf_counter()
    _log(f"training on {len(data.texts)} rows, {len(set(data.labels))} labels ...")
    calibration = read_dataset(args.calibration, args.text_column, args.label_column) if args.calibration else None
    result = fit(data, _config(args), version=args.version, calibration=calibration,
                 calibration_source=Path(args.calibration).name if args.calibration else "calibration")
    from .predictor import Predictor
    from .training import score

    for key, path in (("heldout", args.heldout), ("test", args.test)):
        if path:
            figures = score(Predictor(result.artifact, segmenter=result.segmenter),
                            read_dataset(path, args.text_column, args.label_column))
            result.artifact.metadata["metrics"][key] = {**figures, "source": Path(path).name}
    out = artifact.save_dir(result.artifact, args.out)
    meta = result.artifact.metadata
    return {
        "model": str(out),
        "version": meta["version"],
        "labels": len(meta["labels"]),
        "n_train": meta["n_train"],
        "threshold": meta["threshold"],
        "thresholds": meta.get("thresholds"),
        "familiarity_floor": meta.get("familiarity_floor"),
        "training_data_sha256": meta["training_data_sha256"],
        "metrics": meta["metrics"],
        "seconds": round(time.perf_counter() - started, 2),
    }


def cmd_evaluate(args: argparse.Namespace) -> dict:
    from .dataset import read_dataset, score
    from .predictor import default_model_dir, load_model

    model_dir = args.model or default_model_dir()
    predictor = load_model(model_dir)
    data = read_dataset(args.data, args.text_column, args.label_column)
    result = score(predictor, data)
    result["model_version"] = predictor.version
    return result


def cmd_cross_validate(args: argparse.Namespace) -> dict:
    from .training import cross_validate, read_dataset

    data = read_dataset(args.data, args.text_column, args.label_column)
    _log(f"{args.folds}-fold cross-validation on {len(data.texts)} rows ...")
    summary = cross_validate(data, args.folds, _config(args))
    for i, fold in enumerate(summary.pop("per_fold")):
        _log(f"fold {i + 1}: {json.dumps(fold)}")
    return summary


def cmd_districts(args: argparse.Namespace) -> dict:
    from .jurisdiction import locate

    n = answered = correct = 0
    answered_unknown = unknown = 0
    with open(args.data, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for col in (args.text_column, args.district_column):
            if col not in (reader.fieldnames or []):
                raise ValidationFailed(f"column {col!r} not in {args.data}")
        address_col = args.address_column if args.address_column in (reader.fieldnames or []) else None
        for row in reader:
            text = row[args.text_column] or ""
            truth = (row[args.district_column] or "").strip()
            loc = locate(row[address_col] if address_col else None, text)
            if not truth:
                unknown += 1
                answered_unknown += loc is not None
                continue
            n += 1
            if loc is not None:
                answered += 1
                correct += loc.district == truth
    return {
        "n": n,
        "accuracy": round(correct / answered, 4) if answered else None,
        "coverage": round(answered / n, 4) if n else None,
        "correct": correct,
        "rows_without_district": unknown,
        "answered_without_district": answered_unknown,
    }


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m chalicelib.dispatch", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    def data_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", required=True, help="UTF-8 CSV with a header")
        p.add_argument("--text-column", default="text")
        p.add_argument("--label-column", default="label")

    def policy_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--target-precision", type=float, default=DEFAULT_TARGET_PRECISION,
                       help="precision the auto-dispatched share must reach (default 0.97)")
        p.add_argument("--min-threshold", type=float, default=DEFAULT_MIN_THRESHOLD)
        p.add_argument("--confidence-z", type=float, default=DEFAULT_CONFIDENCE_Z,
                       help="judge precision by its Wilson lower bound at z (0: observed precision)")
        p.add_argument("--no-duty-documents", action="store_true",
                       help="do not add the departments' duty lists as training documents")
        p.add_argument("--no-knowledge", action="store_true", help="no duty-knowledge features")

    p = sub.add_parser("train", help="fit a model and write its artifact directory")
    data_args(p)
    policy_args(p)
    p.add_argument("--out", required=True, help="artifact directory to write")
    p.add_argument("--heldout", help="optional CSV scored after training (stored in metadata)")
    p.add_argument("--calibration", help="CSV the thresholds and familiarity floor are chosen on: text the "
                                         "training data's generator did not produce (never trained on)")
    p.add_argument("--test", help="optional second CSV scored after training (stored as metrics.test)")
    p.add_argument("--version", help="model version (default: derived from data and config)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a model on labelled data")
    data_args(p)
    p.add_argument("--model", help="artifact directory or blob (default: the bundled model)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("cross-validate", help="k-fold cross-validation of the training pipeline")
    data_args(p)
    policy_args(p)
    p.add_argument("--folds", type=int, default=5)
    p.set_defaults(func=cmd_cross_validate)

    p = sub.add_parser("districts", help="score the jurisdiction locator on text,district rows")
    p.add_argument("--data", required=True)
    p.add_argument("--text-column", default="text")
    p.add_argument("--district-column", default="district")
    p.add_argument("--address-column", default="address", help="used when the CSV has it")
    p.set_defaults(func=cmd_districts)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _emit(args.func(args))
    except (DomainError, FileNotFoundError) as exc:
        details = getattr(exc, "details", {})
        _emit({"error": str(exc), "details": details})
        return 2
    return 0
