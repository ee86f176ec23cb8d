"""The local runtime's saver: writes what changed to ``.data/`` every interval, survives its errors,
and says in ``/health`` when the saved copy falls behind.

Each save captures the table's changed items under the embedded DynamoDB's writers' lock (a short
copy, :mod:`chalicelib.local.changes`), then, with no lock held, appends them to the journal and
brings objects, secrets and the data key up to date (:mod:`chalicelib.local.snapshot`). The event pump
is not paused: its handlers wait only if they write during the copy.

A failed save is logged, its captured changes are kept for the next attempt (newer values win), and
the next attempt comes after a backoff (1 s, 2 s, 4 s ... up to the interval). ``/health`` reports
``degraded`` with the snapshot's age while the last attempt failed or the last good save is older
than two intervals.

Test hooks (environment, local runtime only): while the file named by ``LOCAL_SAVE_FAIL_FILE`` exists,
every save attempt fails (after its capture, as a write error would); while the file named by ``LOCAL_SAVE_PAUSE_FILE`` exists, a save stops after its batch
is on disk and before its commit line (at most 120 s), and says so by creating ``<that name>.waiting``:
a test then kills the runtime mid-save.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chalicelib.local import changes, snapshot
from chalicelib.observability import logger

STALE_INTERVALS = 2.0
MAX_BACKOFF_SECONDS = 60.0


class InjectedSaveFailure(RuntimeError):
    """A save failure asked for by ``LOCAL_SAVE_FAIL_FILE`` (tests of the retry path)."""


@dataclass
class SaveResult:
    """What one successful save did."""

    items: int
    captured_at: float
    journal_bytes: int
    held_seconds: float
    seconds: float
    objects: dict[str, int] = field(default_factory=dict)
    compacted: int | None = None


@dataclass
class SaverStatus:
    """The saver's record, read by ``/health`` and the benchmarks."""

    started_at: float = field(default_factory=time.time)
    last_success_at: float | None = None
    saved_through: float | None = None  # the capture instant of the last good save: older changes are on disk
    last_attempt_at: float | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    failures: int = 0
    saves: int = 0
    items_saved: int = 0
    max_held_seconds: float = 0.0
    last_held_seconds: float = 0.0
    last_seconds: float = 0.0


class Saver:
    """Saves the runtime's data every ``interval`` seconds in a thread of its own, and once on stop."""

    def __init__(self, data_dir: Path, env: dict[str, str], *, interval: float,
                 compact_min_bytes: int = 8 * 1024 * 1024) -> None:
        self.data_dir = data_dir
        self.env = env
        self.interval = interval
        self.compact_min_bytes = compact_min_bytes
        self.status = SaverStatus()
        self._sequence = 0
        self._carried: changes.Capture | None = None  # captured but not yet on disk (a failed save)
        self._save_lock = threading.Lock()  # one save at a time: the timer's or stop()'s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fail_file = os.environ.get("LOCAL_SAVE_FAIL_FILE") or None
        self._pause_file = os.environ.get("LOCAL_SAVE_PAUSE_FILE") or None
        self._attempts = 0
        self._journal_size = snapshot.journal_bytes(data_dir)

    # ----- lifecycle ----------------------------------------------------------------------
    def start(self, *, sequence: int | None = None) -> None:
        """Start the timer thread; ``sequence``: the journal's last committed batch number (restored)."""
        if sequence is not None:
            self._sequence = sequence
        self._journal_size = snapshot.journal_bytes(self.data_dir)  # repaired by the restore: all committed
        self._thread = threading.Thread(target=self._loop, name="saver", daemon=True)
        self._thread.start()

    def stop(self, *, final: bool = True, attempts: int = 3) -> SaveResult | None:
        """Stop the timer and (unless ``final`` is False) save what is left, retrying a few times
        quickly; returns the final save's result, None if it could not be made."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if not final:
            return None
        for attempt in range(attempts):
            try:
                return self.save_now(compact=False)
            except Exception:
                logger.exception("final save failed", extra={"attempt": attempt + 1})
                time.sleep(min(2.0, 0.5 * 2 ** attempt))
        return None

    def _loop(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            try:
                self.save_now()
                wait = self.interval
            except Exception:
                # logged and counted by save_now; retry sooner than a full interval
                wait = min(self.interval, MAX_BACKOFF_SECONDS, 2.0 ** max(0, self.status.consecutive_failures - 1))

    # ----- one save -----------------------------------------------------------------------
    def save_now(self, *, compact: bool = True) -> SaveResult:
        """Capture what changed and write it; raises (after logging and counting) on failure."""
        with self._save_lock:
            started = time.monotonic()
            self.status.last_attempt_at = time.time()
            self._attempts += 1
            try:
                result = self._save(compact=compact)
            except Exception as exc:
                self.status.failures += 1
                self.status.consecutive_failures += 1
                self.status.last_error = f"{type(exc).__name__}: {exc}"[:300]
                logger.exception("snapshot save failed; changes are kept for the next attempt",
                                 extra={"consecutive_failures": self.status.consecutive_failures,
                                        "pending_items": len(self._carried.items) if self._carried else 0})
                raise
            result.seconds = time.monotonic() - started
            self.status.last_success_at = time.time()
            self.status.saved_through = result.captured_at
            self.status.last_error = None
            self.status.consecutive_failures = 0
            self.status.saves += 1
            self.status.items_saved += result.items
            self.status.last_held_seconds = result.held_seconds
            self.status.max_held_seconds = max(self.status.max_held_seconds, result.held_seconds)
            self.status.last_seconds = result.seconds
            return result

    def _save(self, *, compact: bool) -> SaveResult:
        table = self.env["TABLE_NAME"]
        captured_at = time.time()
        captured = changes.capture(table)
        if self._carried is not None:  # a failed save's changes, overlaid by the newer ones
            carried = self._carried
            carried.items.update(captured.items)
            carried.keys.update(captured.keys)
            carried.key_names = captured.key_names or carried.key_names
            carried.held_seconds = captured.held_seconds
            captured = carried
        self._carried = captured
        if self._fail_file and Path(self._fail_file).exists():
            raise InjectedSaveFailure(f"save attempt {self._attempts} made to fail by {self._fail_file}")
        pause = self._pause_before_commit if self._pause_file and Path(self._pause_file).exists() else None
        try:
            written = snapshot.append(self.data_dir, captured, self._sequence + 1, committed_size=self._journal_size,
                                      before_commit=pause)
        except snapshot.JournalReplaced:
            logger.warning("the journal was removed or replaced from outside: writing a full copy")
            changes.mark_all(table)
            captured = changes.capture(table)
            written = snapshot.write_base(self.data_dir, captured)
            self._journal_size = 0
        else:
            if written:
                self._sequence += 1
                self._journal_size += written
        self._carried = None
        objects = snapshot.save_objects(self.data_dir, self.env)
        snapshot.save_secrets(self.data_dir)
        snapshot.save_fieldkey(self.data_dir, self.env)
        result = SaveResult(items=len(captured.items), captured_at=captured_at, journal_bytes=written, held_seconds=captured.held_seconds,
                            seconds=0.0, objects=objects)
        if compact and captured.key_names and snapshot.journal_bytes(self.data_dir) > max(
                self.compact_min_bytes, snapshot.base_bytes(self.data_dir)):
            result.compacted = snapshot.compact(self.data_dir, captured.key_names)
            self._journal_size = 0
            logger.info("snapshot journal folded into the base", extra={"items": result.compacted})
        return result

    def _pause_before_commit(self) -> None:
        """The mid-save test hook (see module doc)."""
        assert self._pause_file is not None
        trigger = Path(self._pause_file)
        Path(f"{trigger}.waiting").write_text("a save waits before its commit\n", encoding="utf-8")
        deadline = time.monotonic() + 120
        while trigger.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    # ----- health -------------------------------------------------------------------------
    def health(self, now: float | None = None) -> dict[str, Any]:
        """``status`` ok/degraded, the snapshot's age and the last error, for ``/health``."""
        now = time.time() if now is None else now
        s = self.status
        reference = s.last_success_at if s.last_success_at is not None else s.started_at
        age = now - reference
        stale = age > STALE_INTERVALS * self.interval
        failing = s.consecutive_failures > 0
        report: dict[str, Any] = {
            "status": "degraded" if (stale or failing) else "ok",
            "age_seconds": round(age, 1) if s.last_success_at is not None else None,
            "last_saved_at": _iso(s.last_success_at),
            "saved_through": _iso(s.saved_through),  # every change before this instant is on disk
            "interval_seconds": self.interval,
            "consecutive_failures": s.consecutive_failures,
            "saves": s.saves,
            "last_save_seconds": round(s.last_seconds, 3),
            "max_lock_seconds": round(s.max_held_seconds, 4),  # the longest the writers (and pump) waited
            "pending_items": changes.pending(self.env.get("TABLE_NAME", "")) + (
                len(self._carried.items) if self._carried else 0),
        }
        if s.last_error:
            report["last_error"] = s.last_error
        if stale:
            report["reason"] = (f"last successful save {age:.0f} s ago" if s.last_success_at is not None
                                else f"no successful save in the {age:.0f} s since start")
        elif failing:
            report["reason"] = "the last save failed; retrying"
        return report


def _iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, tz=timezone.utc).isoformat()
