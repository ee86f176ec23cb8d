"""Save and restore what users did: the table's items and the buckets' objects, under ``.data/``.

Written on stop and every minute, restored at start. A crash loses at most the last minute's
changes (and any message still in flight in a queue: queues are not snapshotted; the sweeper
repairs missing timers from the tickets themselves).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from chalicelib.aws import client

TABLE_FILE = "table.jsonl"
S3_DIR = "s3"


def save(data_dir: Path, env: dict[str, str]) -> dict[str, int]:
    """Write a consistent-enough copy of the table and buckets; returns counts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=data_dir))
    counts = {"items": 0, "objects": 0}
    try:
        with open(tmp / TABLE_FILE, "w", encoding="utf-8") as out:
            paginator = client("dynamodb").get_paginator("scan")  # local runtime only: a full copy is the point
            for page in paginator.paginate(TableName=env["TABLE_NAME"]):
                for item in page.get("Items", []):
                    out.write(json.dumps(item, ensure_ascii=False) + "\n")
                    counts["items"] += 1
        s3 = client("s3")
        for bucket in _buckets(env):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    target = tmp / S3_DIR / bucket / obj["Key"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    body = s3.get_object(Bucket=bucket, Key=obj["Key"])
                    target.write_bytes(body["Body"].read())
                    meta = {"ContentType": body.get("ContentType", "application/octet-stream"),
                            "Metadata": body.get("Metadata", {})}
                    target.with_name(target.name + ".meta.json").write_text(json.dumps(meta), encoding="utf-8")
                    counts["objects"] += 1
        _replace(data_dir, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return counts


def _replace(data_dir: Path, tmp: Path) -> None:
    for name in (TABLE_FILE, S3_DIR):
        old = data_dir / name
        new = tmp / name
        if not new.exists():
            continue
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
        os.replace(new, old)


def _buckets(env: dict[str, str]) -> list[str]:
    return [env[k] for k in ("REPORTS_BUCKET", "EXPORTS_BUCKET", "MODELS_BUCKET") if env.get(k)]


def exists(data_dir: Path) -> bool:
    """Is there a snapshot to restore?"""
    return (data_dir / TABLE_FILE).exists()


def restore(data_dir: Path, env: dict[str, str]) -> dict[str, int]:
    """Load a snapshot into freshly created resources; returns counts."""
    counts = {"items": 0, "objects": 0}
    ddb = client("dynamodb")
    batch: list[dict[str, Any]] = []
    with open(data_dir / TABLE_FILE, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            batch.append({"PutRequest": {"Item": json.loads(line)}})
            if len(batch) == 25:
                _write(ddb, env["TABLE_NAME"], batch)
                counts["items"] += len(batch)
                batch = []
    if batch:
        _write(ddb, env["TABLE_NAME"], batch)
        counts["items"] += len(batch)
    s3 = client("s3")
    root = data_dir / S3_DIR
    if root.exists():
        for path in root.rglob("*"):
            if not path.is_file() or path.name.endswith(".meta.json"):
                continue
            bucket, key = path.relative_to(root).parts[0], "/".join(path.relative_to(root).parts[1:])
            meta_file = path.with_name(path.name + ".meta.json")
            meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(),
                          ContentType=meta.get("ContentType", "application/octet-stream"),
                          Metadata=meta.get("Metadata", {}))
            counts["objects"] += 1
    return counts


def _write(ddb: Any, table: str, batch: list[dict[str, Any]]) -> None:
    pending = {table: batch}
    for _ in range(10):
        answer = ddb.batch_write_item(RequestItems=pending)
        pending = answer.get("UnprocessedItems") or {}
        if not pending:
            return
    raise RuntimeError("restore could not write every item")
