"""Model versions: published to S3, one of them active, noticed by every container.

Layout in the models bucket (``MODELS_BUCKET``, versioned, SSE-KMS)::

    dispatch/versions/<version>/model.zip       the artifact blob (chalicelib.dispatch.artifact)
    dispatch/versions/<version>/metadata.json   version, labels, training-data hash, metrics,
                                                threshold, how and when it was made
    dispatch/active.json                        a copy of the active pointer, for the containers

In the table: an index of the versions (directory partition ``MODEL``, one Query lists them) and
the active pointer (``CONFIG/DISPATCH_MODEL``: the version, who promoted it and why, the versions
active before it for rollback), changed with optimistic locking like every configuration document.

Why containers poll a copy in S3 rather than the CONFIG item: every API container checks it at
most once per ``DISPATCH_MODEL_CHECK_SECONDS`` on the path of a registration, whose DynamoDB
budget is one Query + one TransactWriteItems (tests/services/test_budgets.py). A conditional GET
(``If-None-Match``) of the object next to the artifacts costs a 304 when nothing changed and keeps
the table out of it. Promotions write the table first, then publish the copy; a copy that lags
(its publish failed) is published again by the next promotion attempt or the retraining job.

When no version was ever promoted, the active model is the bundled default
(:func:`chalicelib.dispatch.predictor.get_default_predictor`). Nothing here imports scikit-learn,
nor numpy until a model is loaded.
"""
from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import dispatch_model_check_seconds
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import Conflict, ConcurrentModification, NotFound, ValidationFailed
from chalicelib.observability import logger
from chalicelib.store import directory

from . import model_store

if TYPE_CHECKING:  # numpy-backed: imported lazily at run time, so that importing app.py stays light
    from .artifact import Artifact
    from .predictor import Predictor

PREFIX = "dispatch/"
ACTIVE_KEY = PREFIX + "active.json"
INDEX_KIND = "MODEL"
POINTER_KEY = "DISPATCH_MODEL"
DEFAULT_CHECK_SECONDS = 60.0
MAX_HISTORY = 20
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def model_key(version: str) -> str:
    return f"{PREFIX}versions/{version}/model.zip"


def metadata_key(version: str) -> str:
    return f"{PREFIX}versions/{version}/metadata.json"


def check_version(version: Any) -> str:
    """A version name safe in an S3 key and a URL; ValidationFailed otherwise."""
    if not isinstance(version, str) or not VERSION_RE.match(version):
        raise ValidationFailed("invalid model version", details={"version": "letters, digits, . _ - (max 64)"})
    return version


# --- the bundled default ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def bundled_metadata() -> dict[str, Any]:
    """Metadata of the default model shipped with the code (or the layer): JSON only, no numpy."""
    from .artifact import METADATA
    from .predictor import default_model_dir

    return json.loads((default_model_dir() / METADATA).read_text(encoding="utf-8"))


def bundled_version() -> str:
    return str(bundled_metadata()["version"])


def summarize(metadata: dict[str, Any]) -> dict[str, Any]:
    """What the version list shows of a model's metadata."""
    return {
        "version": str(metadata["version"]),
        "labels": list(metadata.get("labels") or []),
        "threshold": metadata.get("threshold"),
        "training_data_sha256": metadata.get("training_data_sha256"),
        "n_train": metadata.get("n_train"),
        "metrics": metadata.get("metrics") or {},
    }


# --- publishing and reading versions ----------------------------------------------------------


def publish(art: "Artifact", *, source: str, now: datetime,
            details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Store an artifact and its metadata as a new version (not active); returns its index entry.

    Publishing the same version again rewrites identical bytes (versions are content hashes).
    """
    from . import artifact as artifact_io

    version = check_version(art.version)
    blob = artifact_io.to_bytes(art)
    sha = artifact_io.sha256_bytes(blob)
    published = {"source": source, "published_at": now.astimezone(TZ).isoformat(), "sha256": sha,
                 "size": len(blob), **(details or {})}
    model_store.put_version(model_key=model_key(version), metadata_key=metadata_key(version), blob=blob, sha256=sha,
                            document={**art.metadata, "published": published})
    entry = {**summarize(art.metadata), **published}
    directory.put_entry(INDEX_KIND, version, model_store.dynamo_safe(entry))
    logger.info("dispatch model published", extra={"version": version, "source": source, "size": len(blob)})
    return entry


def versions() -> list[dict[str, Any]]:
    """Every published version (newest first), plus the bundled default."""
    entries = [{k: v for k, v in e.items() if k != "_version"} for e in directory.list_entries(INDEX_KIND)]
    entries.sort(key=lambda e: str(e.get("published_at") or ""), reverse=True)
    bundled = bundled_version()
    if not any(e["version"] == bundled for e in entries):
        entries.append({**summarize(bundled_metadata()), "source": "bundled", "published_at": None})
    return entries


def version_metadata(version: str) -> dict[str, Any]:
    """The full metadata of one version; NotFound if there is none."""
    check_version(version)
    if version == bundled_version():
        return {**bundled_metadata(), "published": {"source": "bundled"}}
    if not exists(version):
        raise NotFound(f"no model version {version}")
    body = model_store.read_object(metadata_key(version)).body
    if body is None:
        raise NotFound(f"no model version {version}")
    return json.loads(body)


def exists(version: str) -> bool:
    """Whether ``version`` was published (or is the bundled one): the table's index, no S3 call."""
    return version == bundled_version() or directory.find_entry(INDEX_KIND, check_version(version)) is not None


def load_version(version: str) -> "Predictor":
    """A predictor for one version (the bundled one from disk, the others from S3)."""
    from .predictor import default_model_dir, load_model

    if version == bundled_version():
        return load_model(default_model_dir())
    predictor = load_model(model_store.fetch_blob(model_key(check_version(version)), what="model", version=version))
    if predictor.version != version:
        raise ValidationFailed("model blob carries another version", details={"version": predictor.version})
    return predictor


# --- the active version -----------------------------------------------------------------------


@dataclass(frozen=True)
class ActivePointer:
    """Which version is active, since when and by whom, and what was active before it.

    ``revision`` is the version of the table document it was read from (0: never promoted).
    """

    version: str
    promoted_at: str
    promoted_by: str
    reason: str | None = None
    previous: list[str] = field(default_factory=list)  # oldest first; the last one is the rollback target
    revision: int = 0

    @classmethod
    def from_json(cls, data: Any) -> "ActivePointer":
        if not isinstance(data, dict) or not isinstance(data.get("version"), str):
            raise ValidationFailed("unreadable active model pointer")
        return cls(version=data["version"], promoted_at=str(data.get("promoted_at") or ""),
                   promoted_by=str(data.get("promoted_by") or ""), reason=data.get("reason"),
                   previous=[str(v) for v in data.get("previous") or []], revision=int(data.get("revision") or 0))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def active_pointer() -> ActivePointer | None:
    """The active version as recorded in the table (the source of truth); None: never promoted."""
    entry = directory.find_entry(directory.CONFIG, POINTER_KEY)
    if entry is None:
        return None
    return ActivePointer.from_json({**entry, "revision": entry["_version"]})


def active_version() -> str:
    """The version the platform uses now (the table's record, not a container's cache)."""
    pointer = active_pointer()
    return pointer.version if pointer else bundled_version()


def _record(pointer: ActivePointer, *, expected: int) -> ActivePointer:
    """Store a new pointer in the table (optimistic: ``expected`` is the revision it replaces),
    then publish it to S3 for the containers."""
    data = {k: v for k, v in pointer.to_json().items() if k != "revision"}
    revision = directory.put_entry(directory.CONFIG, POINTER_KEY, data, expected_version=expected)
    stored = ActivePointer(**{**pointer.to_json(), "revision": revision})
    publish_pointer(stored)
    return stored


def promote(version: str, *, actor: str, now: datetime, reason: str | None = None) -> ActivePointer:
    """Make ``version`` the active model; the one it replaces becomes the rollback target."""
    check_version(version)
    if not exists(version):
        raise NotFound(f"no model version {version}")
    pointer = active_pointer()
    current = pointer.version if pointer else bundled_version()
    if version == current:
        if pointer is not None and not mirror_current(pointer):
            publish_pointer(pointer)  # a promotion whose publishing failed earlier: finish it
            return pointer
        raise Conflict(f"model version {version} is already active", details={"version": version})
    history = ([*pointer.previous] if pointer else []) + [current]
    promoted = _record(ActivePointer(version=version, promoted_at=now.astimezone(TZ).isoformat(), promoted_by=actor,
                                     reason=reason, previous=history[-MAX_HISTORY:]),
                       expected=pointer.revision if pointer else 0)
    logger.info("dispatch model promoted", extra={"version": version, "replaced": current})
    return promoted


def rollback(*, actor: str, now: datetime, reason: str | None = None) -> ActivePointer:
    """Make the version that was active before the current one active again."""
    pointer = active_pointer()
    if pointer is None or not pointer.previous:
        raise Conflict("no earlier model version to roll back to")
    target = pointer.previous[-1]
    rolled = _record(ActivePointer(version=target, promoted_at=now.astimezone(TZ).isoformat(), promoted_by=actor,
                                   reason=reason or f"rollback from {pointer.version}",
                                   previous=pointer.previous[:-1]),
                     expected=pointer.revision)
    logger.info("dispatch model rolled back", extra={"version": target, "from": pointer.version})
    return rolled


# --- the copy in S3 the containers poll -------------------------------------------------------


@dataclass(frozen=True)
class MirrorRead:
    pointer: ActivePointer | None
    etag: str | None
    not_modified: bool = False
    unreadable: bool = False  # there is a copy, but not one this code can read


def read_mirror(*, if_none_match: str | None = None, key: str = ACTIVE_KEY) -> MirrorRead:
    """The pointer as published in S3, and its ETag (``not_modified`` when still ``if_none_match``).

    ``key`` is the copy to read: the dispatch model's by default; the category model registry reads
    its own with the same shape.
    """
    read = model_store.read_object(key, if_none_match=if_none_match)
    if read.body is None:
        return MirrorRead(None, read.etag, not_modified=read.not_modified)
    try:
        return MirrorRead(ActivePointer.from_json(json.loads(read.body)), read.etag)
    except (ValueError, ValidationFailed):
        logger.warning("a published model pointer is unreadable", extra={"key": key})
        return MirrorRead(None, read.etag, unreadable=True)


def mirror_current(pointer: ActivePointer) -> bool:
    """Whether S3 already carries ``pointer`` (or a later revision)."""
    published = read_mirror().pointer
    return published is not None and published.revision >= pointer.revision


def publish_pointer(pointer: ActivePointer, *, attempts: int = 3) -> None:
    """Write ``pointer`` to S3 unless a later revision is there already.

    Two promotions in quick succession publish in either order; the conditional write (``If-Match``
    the copy read) makes sure an older revision never overwrites a newer one.
    """
    for _ in range(attempts):
        read = read_mirror()
        if read.pointer is not None and read.pointer.revision >= pointer.revision:
            break
        condition = {"IfMatch": read.etag} if read.etag else {"IfNoneMatch": "*"}
        try:
            model_store.put_json(ACTIVE_KEY, pointer.to_json(), **condition)
            break
        except ClientError as exc:
            if (model_store.error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict")
                    or model_store.http_status(exc) in (409, 412)):
                continue  # someone published meanwhile: look again
            raise
    else:
        raise ConcurrentModification("the active model is being changed right now: retry")
    active_model.forget()  # this container sees the change at once


def sync_mirror() -> bool:
    """Publish the table's pointer if S3 lags behind it (a publish that failed); True if it did."""
    pointer = active_pointer()
    if pointer is None or mirror_current(pointer):
        return False
    publish_pointer(pointer)
    return True


class PointerWatcher:
    """A container's view of one published ``active.json``: read at most every ``check_seconds``.

    The read is a conditional GET (nothing downloaded when unchanged); a pointer that did change
    goes to :meth:`_switch`, which loads that version. Any failure keeps what the container
    already has: a suggestion is never refused because S3 hiccupped. The dispatch model
    (:class:`ActiveModel`) and the category model (``category_model_registry``) each have one.
    """

    key: str = ACTIVE_KEY
    name: str = "model"  # in the log line of a failed check

    def __init__(self, check_seconds: float | None = None) -> None:
        self._check_seconds = check_seconds
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._etag: str | None = None

    @property
    def check_seconds(self) -> float:
        if self._check_seconds is not None:
            return self._check_seconds
        return float(dispatch_model_check_seconds() or DEFAULT_CHECK_SECONDS)

    def _check(self, force_check: bool) -> None:
        """Read the pointer again if the last read is ``check_seconds`` old (or ``force_check``)."""
        def due() -> bool:
            return (force_check or self._checked_at is None
                    or time.monotonic() - self._checked_at >= self.check_seconds)

        if due():
            with self._lock:
                if due():
                    self._refresh()
                    self._checked_at = time.monotonic()

    def _refresh(self) -> None:
        try:
            read = read_mirror(if_none_match=self._etag, key=self.key)
            if read.not_modified or read.unreadable:  # unreadable: keep what we have; the next promotion rewrites it
                return
            self._switch(read.pointer)
            self._etag = read.etag
        except (ClientError, BotoCoreError, ValidationFailed, NotFound, ValueError) as exc:
            logger.warning(f"{self.name} check failed; keeping the current one", extra={"error": type(exc).__name__})

    def _switch(self, pointer: ActivePointer | None) -> None:
        """Load ``pointer``'s version if it is not the one loaded (None: no copy published)."""
        raise NotImplementedError

    def _unload(self) -> None:
        """Drop the loaded model (called under the lock)."""
        raise NotImplementedError

    def forget(self) -> None:
        """Check again on the next use (after a promotion here, and in tests)."""
        with self._lock:
            self._checked_at = None
            self._etag = None

    def reset(self) -> None:
        """Forget everything, the loaded model included (tests switching environments)."""
        with self._lock:
            self._checked_at = None
            self._etag = None
            self._unload()


class ActiveModel(PointerWatcher):
    """The container's dispatch model: a newly promoted version is downloaded, loaded and made the
    process default (``set_default_predictor``); the bundled model until one is promoted."""

    name = "dispatch model"

    def __init__(self, check_seconds: float | None = None) -> None:
        super().__init__(check_seconds)
        self._loaded: str | None = None  # version set as the process default; None: the bundled model

    def predictor(self, *, force_check: bool = False) -> "Predictor":
        """The active model's predictor (loading it on first use or after a promotion)."""
        from .predictor import get_default_predictor

        self._check(force_check)
        return get_default_predictor()

    def _switch(self, pointer: ActivePointer | None) -> None:
        from .predictor import reset_default_predictor, set_default_predictor

        wanted = pointer.version if pointer else None
        if wanted == bundled_version():
            wanted = None
        if wanted != self._loaded:
            if wanted is None:
                reset_default_predictor()
            else:
                set_default_predictor(load_version(wanted))
            self._loaded = wanted
            logger.info("dispatch model switched", extra={"version": wanted or bundled_version()})

    def _unload(self) -> None:
        from .predictor import reset_default_predictor

        if self._loaded is not None:
            reset_default_predictor()
        self._loaded = None


active_model = ActiveModel()


def active_predictor(*, force_check: bool = False) -> "Predictor":
    """The active model's predictor for this container (see :class:`ActiveModel`)."""
    return active_model.predictor(force_check=force_check)
