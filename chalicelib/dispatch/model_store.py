"""The models bucket: version artifacts and the pointer copies the containers poll.

Both model registries (the dispatch model's, :mod:`chalicelib.dispatch.registry`, and the category
model's, :mod:`chalicelib.dispatch.category_model_registry`) keep a version as a ``model.zip`` blob
(its SHA-256 in the object metadata) beside a ``metadata.json``, and the active pointer as a JSON
copy read with a conditional GET. This module is those S3 pieces, written once; what a version or
a pointer means stays with each registry.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws import client
from chalicelib.config import get_settings
from chalicelib.domain.errors import NotFound, ValidationFailed


def s3() -> Any:
    """The S3 client the registries use."""
    return client("s3")


def bucket() -> str:
    """The models bucket (``MODELS_BUCKET``)."""
    return get_settings().models_bucket


def error_code(exc: ClientError) -> str:
    """The S3 error code of ``exc`` ("NoSuchKey", "PreconditionFailed", ...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def http_status(exc: ClientError) -> int:
    """The HTTP status S3 answered ``exc`` with (0 when unknown)."""
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def is_missing(exc: ClientError) -> bool:
    """Whether ``exc`` says the object is not there."""
    return error_code(exc) in ("NoSuchKey", "404", "NotFound") or http_status(exc) == 404


def is_not_modified(exc: ClientError) -> bool:
    """Whether ``exc`` is the 304 of a conditional GET whose ETag still matches."""
    return http_status(exc) == 304 or error_code(exc) in ("304", "NotModified")


def dynamo_safe(value: Any) -> Any:
    """DynamoDB numbers cannot be NaN or infinite: those become null (everything else is kept)."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {str(k): dynamo_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [dynamo_safe(v) for v in value]
    return value


def put_version(*, model_key: str, metadata_key: str, blob: bytes, sha256: str, document: dict[str, Any]) -> None:
    """Store a version's blob (its hash in the object metadata) and its metadata document."""
    store = s3()
    store.put_object(Bucket=bucket(), Key=model_key, Body=blob, ContentType="application/zip",
                     Metadata={"sha256": sha256})
    store.put_object(Bucket=bucket(), Key=metadata_key, ContentType="application/json",
                     Body=json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8"))


def fetch_blob(key: str, *, what: str, version: str) -> bytes:
    """The blob of ``version`` stored at ``key``, checked against the hash it was stored with.

    ``what`` names the model in the errors: NotFound "no <what> version <version>" when there is
    no such object, ValidationFailed "<what> blob does not match its hash" when its bytes changed.
    """
    from .artifact import sha256_bytes

    try:
        obj = s3().get_object(Bucket=bucket(), Key=key)
    except ClientError as exc:
        if is_missing(exc):
            raise NotFound(f"no {what} version {version}") from None
        raise
    blob = obj["Body"].read()
    expected = (obj.get("Metadata") or {}).get("sha256")
    if expected and sha256_bytes(blob) != expected:
        raise ValidationFailed(f"{what} blob does not match its hash", details={"version": version})
    return blob


def put_json(key: str, document: Any, **conditions: str) -> None:
    """Write ``document`` as JSON at ``key``; ``conditions`` are S3's ``IfMatch``/``IfNoneMatch``."""
    s3().put_object(Bucket=bucket(), Key=key, ContentType="application/json",
                    Body=json.dumps(document, ensure_ascii=False).encode("utf-8"), **conditions)


@dataclass(frozen=True)
class ObjectRead:
    """A conditional GET's answer: the body (None when missing or not modified) and its ETag."""

    body: bytes | None
    etag: str | None
    not_modified: bool = False


def read_object(key: str, *, if_none_match: str | None = None) -> ObjectRead:
    """GET ``key``, conditionally when ``if_none_match`` is given (a 304 costs no body).

    A missing object is ``ObjectRead(None, None)``; not modified keeps ``if_none_match`` as the ETag.
    """
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Key": key}
    if if_none_match:
        kwargs["IfNoneMatch"] = if_none_match
    try:
        obj = s3().get_object(**kwargs)
    except ClientError as exc:
        if is_not_modified(exc):
            return ObjectRead(None, if_none_match, not_modified=True)
        if is_missing(exc):
            return ObjectRead(None, None)
        raise
    return ObjectRead(obj["Body"].read(), obj.get("ETag"))
