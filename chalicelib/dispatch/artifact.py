"""The model artifact: metadata, vocabularies and numpy arrays, with no pickle anywhere.

On disk an artifact is a directory of three files::

    metadata.json    version, labels, threshold, training-data hash, metrics, analyzer config,
                     duty knowledge, user dictionary words
    vocabulary.json  {"word": [...terms in column order], "char": [...]}
    arrays.npz       idf_word, idf_char, coef (features x classes), intercept, platt_a, platt_b,
                     centroid (TF-IDF features x labels, optional: the familiarity score)
    dictionary.txt   jieba main dictionary the model was trained with (optional)

As one blob (for S3) it is a zip of those three files. Both forms are byte-for-byte
deterministic: fixed member order and timestamps, sorted JSON keys.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..domain.errors import ValidationFailed
from .textproc import SIDE_MARKER_SETS

SCHEMA_VERSION = 1
METADATA = "metadata.json"
VOCABULARY = "vocabulary.json"
ARRAYS = "arrays.npz"
DICTIONARY = "dictionary.txt"
MEMBERS = (METADATA, VOCABULARY, ARRAYS)
OPTIONAL_MEMBERS = (DICTIONARY,)
REQUIRED_ARRAYS = ("idf_word", "idf_char", "coef", "intercept", "platt_a", "platt_b")
_EPOCH = (2020, 1, 1, 0, 0, 0)


@dataclass
class Artifact:
    """A trained model in exportable form."""

    metadata: dict
    vocabulary: dict[str, list[str]]
    arrays: dict[str, np.ndarray]
    dictionary: bytes | None = None

    @property
    def version(self) -> str:
        return str(self.metadata["version"])

    def validate(self) -> None:
        """Raise :class:`ValidationFailed` when the parts do not fit together."""
        problems: dict[str, str] = {}
        if self.metadata.get("schema") != SCHEMA_VERSION:
            problems["schema"] = f"expected {SCHEMA_VERSION}, got {self.metadata.get('schema')!r}"
        missing = [k for k in REQUIRED_ARRAYS if k not in self.arrays]
        if missing:
            problems["arrays"] = f"missing {missing}"
        else:
            labels = self.metadata.get("labels") or []
            n_word, n_char = len(self.vocabulary.get("word", [])), len(self.vocabulary.get("char", []))
            n_know = int(self.metadata.get("knowledge_size", 0))
            coef = self.arrays["coef"]
            n_cols = 1 if len(labels) == 2 else len(labels)
            if self.arrays["idf_word"].shape != (n_word,) or self.arrays["idf_char"].shape != (n_char,):
                problems["idf"] = "idf arrays do not match the vocabularies"
            if coef.shape != (n_word + n_char + n_know, n_cols):
                problems["coef"] = f"shape {coef.shape} does not match features/labels"
            centroid = self.arrays.get("centroid")
            if centroid is not None and centroid.shape != (n_word + n_char, len(labels)):
                problems["centroid"] = f"shape {centroid.shape} does not match the vocabularies and labels"
            for k in ("intercept", "platt_a", "platt_b"):
                if self.arrays[k].shape != (n_cols,):
                    problems[k] = f"shape {self.arrays[k].shape}, expected ({n_cols},)"
            if len(labels) < 2:
                problems["labels"] = "a model needs at least two labels"
            markers = (self.metadata.get("analyzer") or {}).get("side_markers", 1)
            if markers not in SIDE_MARKER_SETS:
                problems["analyzer"] = f"unknown side-marker set {markers!r}"
        if problems:
            raise ValidationFailed("invalid dispatch model artifact", details=problems)


def _json_bytes(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz (zip of .npy) with fixed timestamps, readable by ``np.load``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            arr = io.BytesIO()
            np.lib.format.write_array(arr, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, arr.getvalue())
    return buf.getvalue()


def _parts(artifact: Artifact) -> dict[str, bytes]:
    artifact.validate()
    parts = {
        METADATA: _json_bytes(artifact.metadata),
        VOCABULARY: _json_bytes(artifact.vocabulary),
        ARRAYS: _npz_bytes(artifact.arrays),
    }
    if artifact.dictionary is not None:
        parts[DICTIONARY] = artifact.dictionary
    return parts


def _from_parts(parts: dict[str, bytes]) -> Artifact:
    missing = [m for m in MEMBERS if m not in parts]
    if missing:
        raise ValidationFailed("incomplete dispatch model artifact", details={"missing": missing})
    with np.load(io.BytesIO(parts[ARRAYS]), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    artifact = Artifact(json.loads(parts[METADATA]), json.loads(parts[VOCABULARY]), arrays,
                        parts.get(DICTIONARY))
    artifact.validate()
    return artifact


def save_dir(artifact: Artifact, path: str | os.PathLike[str]) -> Path:
    """Write the artifact into directory ``path`` (created if needed)."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in _parts(artifact).items():
        (out / name).write_bytes(data)
    return out


def load_dir(path: str | os.PathLike[str]) -> Artifact:
    """Read an artifact directory written by :func:`save_dir`."""
    root = Path(path)
    if not root.is_dir():
        raise ValidationFailed("model directory not found", details={"path": str(root)})
    return _from_parts({m: (root / m).read_bytes() for m in MEMBERS + OPTIONAL_MEMBERS
                        if (root / m).exists()})


def to_bytes(artifact: Artifact) -> bytes:
    """The artifact as one deterministic zip blob (what goes to S3)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in _parts(artifact).items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            # The npz is compressed already; the JSON and dictionary text compress well.
            info.compress_type = zipfile.ZIP_STORED if name == ARRAYS else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def from_bytes(blob: bytes) -> Artifact:
    """Read a blob written by :func:`to_bytes`."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            parts = {name: zf.read(name) for name in zf.namelist()
                     if name in MEMBERS + OPTIONAL_MEMBERS}
    except zipfile.BadZipFile as exc:
        raise ValidationFailed("dispatch model blob is not a zip archive") from exc
    return _from_parts(parts)


def load(source: str | os.PathLike[str] | bytes) -> Artifact:
    """An artifact from a directory, a blob file (``.zip``) or the blob's bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return from_bytes(bytes(source))
    path = Path(source)
    if path.is_file():
        return from_bytes(path.read_bytes())
    return load_dir(path)


def sha256_bytes(blob: bytes) -> str:
    """Content hash of a blob (for S3 object metadata and integrity checks)."""
    return hashlib.sha256(blob).hexdigest()
