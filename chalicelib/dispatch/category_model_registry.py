"""Category model versions: published to S3 like the dispatch model's, one of them active, noticed by
every container.

Layout in the models bucket (beside the dispatch model's, under the prefix its roles already reach)::

    dispatch/categories/versions/<version>/model.zip      the artifact blob (chalicelib.dispatch.artifact)
    dispatch/categories/versions/<version>/metadata.json  labels, examples per label, held-out figures
    dispatch/categories/active.json                       a copy of the active pointer, for the containers

In the table: an index of the versions (directory partition ``CATEGORY_MODEL``, one Query lists them)
and the active pointer (``CONFIG/CATEGORY_MODEL``), changed with optimistic locking. There is no
bundled category model: until one is promoted the suggestions are keyword evidence only. A container
checks the S3 copy at most every ``DISPATCH_MODEL_CHECK_SECONDS`` with a conditional GET (a 304 when
nothing changed) and loads a newly promoted version then. Nothing here imports numpy until a model
is loaded, nor scikit-learn ever.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.observability import logger
from chalicelib.store import directory

from . import model_store
from . import registry as dispatch_registry
from .registry import ActivePointer, PointerWatcher, check_version

if TYPE_CHECKING:
    from .artifact import Artifact
    from .predictor import Predictor

PREFIX = "dispatch/categories/"
ACTIVE_KEY = PREFIX + "active.json"
INDEX_KIND = "CATEGORY_MODEL"
POINTER_KEY = "CATEGORY_MODEL"
MAX_HISTORY = 20


def model_key(version: str) -> str:
    return f"{PREFIX}versions/{version}/model.zip"


def metadata_key(version: str) -> str:
    return f"{PREFIX}versions/{version}/metadata.json"


def summarize(metadata: dict[str, Any]) -> dict[str, Any]:
    """What the version list shows of a category model's metadata."""
    return {"version": str(metadata["version"]), "labels": list(metadata.get("labels") or []),
            "label_counts": metadata.get("label_counts") or {}, "n_train": metadata.get("n_train"),
            "training_data_sha256": metadata.get("training_data_sha256"),
            "heldout": (metadata.get("metrics") or {}).get("heldout")}


def publish(art: "Artifact", *, now: datetime, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Store an artifact and its metadata as a new (inactive) version; returns its index entry."""
    from . import artifact as artifact_io

    version = check_version(art.version)
    blob = artifact_io.to_bytes(art)
    sha = artifact_io.sha256_bytes(blob)
    published = {"source": "retraining", "published_at": now.astimezone(TZ).isoformat(), "sha256": sha,
                 "size": len(blob), **(details or {})}
    model_store.put_version(model_key=model_key(version), metadata_key=metadata_key(version), blob=blob, sha256=sha,
                            document={**art.metadata, "published": published})
    entry = {**summarize(art.metadata), **published}
    directory.put_entry(INDEX_KIND, version, model_store.dynamo_safe(entry))
    logger.info("category model published", extra={"version": version, "size": len(blob)})
    return entry


def versions() -> list[dict[str, Any]]:
    """Every published version, newest first (one Query)."""
    entries = [{k: v for k, v in e.items() if k != "_version"} for e in directory.list_entries(INDEX_KIND)]
    return sorted(entries, key=lambda e: str(e.get("published_at") or ""), reverse=True)


def active_pointer() -> ActivePointer | None:
    """The active version as the table records it; None: none was ever promoted."""
    entry = directory.find_entry(directory.CONFIG, POINTER_KEY)
    return None if entry is None else ActivePointer.from_json({**entry, "revision": entry["_version"]})


def promote(version: str, *, actor: str, now: datetime, reason: str | None = None) -> ActivePointer:
    """Make ``version`` the active category model (table first, optimistic; then the S3 copy)."""
    check_version(version)
    if directory.find_entry(INDEX_KIND, version) is None:
        raise NotFound(f"no category model version {version}")
    pointer = active_pointer()
    if pointer is not None and pointer.version == version:
        raise Conflict(f"category model version {version} is already active", details={"version": version})
    history = ([*pointer.previous, pointer.version] if pointer else [])[-MAX_HISTORY:]
    data = {"version": version, "promoted_at": now.astimezone(TZ).isoformat(), "promoted_by": actor,
            "reason": reason, "previous": history}
    revision = directory.put_entry(directory.CONFIG, POINTER_KEY, data,
                                   expected_version=pointer.revision if pointer else 0)
    promoted = ActivePointer.from_json({**data, "revision": revision})
    model_store.put_json(ACTIVE_KEY, promoted.to_json())
    active_model.forget()
    logger.info("category model promoted", extra={"version": version})
    return promoted


def load_version(version: str) -> "Predictor":
    """A predictor for one published version (from S3, its hash checked)."""
    from .predictor import load_model

    return load_model(model_store.fetch_blob(model_key(check_version(version)), what="category model",
                                             version=version))


class ActiveCategoryModel(PointerWatcher):
    """The container's category model: None until one is promoted; its ``active.json`` watched like
    the dispatch model's (:class:`~chalicelib.dispatch.registry.PointerWatcher`), and checked as often."""

    key = ACTIVE_KEY
    name = "category model"

    def __init__(self, check_seconds: float | None = None) -> None:
        super().__init__(check_seconds)
        self._predictor: "Predictor | None" = None

    @property
    def check_seconds(self) -> float:
        if self._check_seconds is not None:
            return self._check_seconds
        return dispatch_registry.active_model.check_seconds

    def predictor(self, *, force_check: bool = False) -> "Predictor | None":
        """The active category model's predictor, or None when there is none."""
        self._check(force_check)
        return self._predictor

    def _switch(self, pointer: ActivePointer | None) -> None:
        if pointer is None:  # no copy: nothing was promoted (or it is gone)
            self._predictor = None
        elif self._predictor is None or self._predictor.version != pointer.version:
            self._predictor = load_version(pointer.version)
            logger.info("category model switched", extra={"version": pointer.version})

    def _unload(self) -> None:
        self._predictor = None


active_model = ActiveCategoryModel()
