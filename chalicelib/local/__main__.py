"""``python -m chalicelib.local run``: start the embedded local runtime (what ``make run`` calls)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from chalicelib.local.runtime import ROOT, SNAPSHOT_INTERVAL_SECONDS, serve


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
    run.add_argument("--snapshot-interval", type=float,
                     default=float(os.environ.get("SNAPSHOT_INTERVAL", SNAPSHOT_INTERVAL_SECONDS)),
                     help="seconds between saves of what changed to the data folder")
    args = parser.parse_args(argv)
    if args.command == "run":
        return serve(args.port, args.aws_port, args.data_dir, args.reset, args.clock_speed, args.demo_tickets,
                     args.snapshot_interval)
    return 2


def exit_now(code: int) -> None:
    """Leave without the interpreter's teardown once the runtime has stopped and saved.

    moto's Step Functions runs each execution in threads of its own; with a few hundred ticket flows
    alive, tearing the interpreter down took 5-7 s more after the final save (measured), which is
    what a newcomer pressing Ctrl-C waits for. Everything worth keeping is on disk by then."""
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
