"""Report files in the versioned reports bucket, and presigned links to exact versions.

The bucket keeps every version of an object. A report is stored under a stable key per type and
period; each generation is a new version, and jobs remember the version they wrote. Links are
presigned for that version, so a link e-mailed with a report keeps showing what was sent even
after the report is regenerated.
"""
from __future__ import annotations

from typing import Any

from chalicelib.aws import client
from chalicelib.config import get_settings

HTML_TYPE = "text/html; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LINK_SECONDS = 3600
EMAIL_LINK_SECONDS = 7 * 86400  # the longest SigV4 presigned URLs allow


def bucket() -> str:
    return get_settings().reports_bucket


def put_bytes(key: str, body: bytes, content_type: str, *, metadata: dict[str, str] | None = None) -> str:
    """Store ``body`` under ``key``; returns the new version's id."""
    answer = client("s3").put_object(Bucket=bucket(), Key=key, Body=body, ContentType=content_type,
                                      Metadata=metadata or {})
    return str(answer.get("VersionId") or "null")


def put_file(key: str, path: str, content_type: str, *, metadata: dict[str, str] | None = None) -> str:
    """Store a file (multipart for big ledgers); returns the new version's id."""
    with open(path, "rb") as handle:
        answer = client("s3").put_object(Bucket=bucket(), Key=key, Body=handle, ContentType=content_type,
                                         Metadata=metadata or {})
    return str(answer.get("VersionId") or "null")


def link(ref: dict[str, Any] | None, *, seconds: int = LINK_SECONDS, filename: str | None = None) -> str | None:
    """A presigned GET link to the exact version ``ref`` (``{"key", "version_id"}``) names."""
    if not ref:
        return None
    params: dict[str, Any] = {"Bucket": bucket(), "Key": ref["key"]}
    if ref.get("version_id") and ref["version_id"] != "null":
        params["VersionId"] = ref["version_id"]
    if filename:
        params["ResponseContentDisposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
    return client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def read(ref: dict[str, Any]) -> bytes:
    """The bytes of an exact version (tests and operators)."""
    params: dict[str, Any] = {"Bucket": bucket(), "Key": ref["key"]}
    if ref.get("version_id") and ref["version_id"] != "null":
        params["VersionId"] = ref["version_id"]
    return client("s3").get_object(**params)["Body"].read()


def versions(key: str) -> list[dict[str, Any]]:
    """Every stored version of a key, newest first."""
    answer = client("s3").list_object_versions(Bucket=bucket(), Prefix=key)
    return [{"version_id": v["VersionId"], "last_modified": v["LastModified"].isoformat(), "latest": v["IsLatest"]}
            for v in answer.get("Versions", []) if v["Key"] == key]
