"""Save and restore what users did: the table's items, the buckets' objects, the secrets and the
field-encryption data key, under ``.data/``.

Written on stop and every minute, restored at start. A crash loses at most the last minute's
changes (and any message still in flight in a queue: queues are not snapshotted; the sweeper
repairs missing timers from the tickets themselves).

Each start creates a new KMS key in the embedded AWS, which cannot decrypt the stored data key
(``CONFIG/FIELDKEY``) of the previous run; the snapshot therefore keeps that data key in clear
(local demo data only, file mode 0600) and the restore wraps it again under the new KMS key. Partner
secrets live in Secrets Manager, not in the table, and are snapshotted beside it.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from chalicelib.aws import client

TABLE_FILE = "table.jsonl"
S3_DIR = "s3"
SECRETS_FILE = "secrets.json"
FIELDKEY_FILE = "fieldkey.json"
_FIELDKEY = {"PK": {"S": "CONFIG"}, "SK": {"S": "FIELDKEY"}}


def _binary(value: Any, convert: Any) -> Any:
    """One attribute value with its binary parts passed through ``convert`` (M and L walked)."""
    (kind, inner), = value.items()
    if kind == "B":
        return {"B": convert(inner)}
    if kind == "BS":
        return {"BS": [convert(v) for v in inner]}
    if kind == "M":
        return {"M": {k: _binary(v, convert) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_binary(v, convert) for v in inner]}
    return value


def _to_json(item: dict[str, Any]) -> dict[str, Any]:
    """An item as JSON: binary values base64-encoded."""
    return {name: _binary(value, lambda b: base64.b64encode(b).decode("ascii")) for name, value in item.items()}


def _from_json(item: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`_to_json`."""
    return {name: _binary(value, base64.b64decode) for name, value in item.items()}


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
                    out.write(json.dumps(_to_json(item), ensure_ascii=False) + "\n")
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
        counts["secrets"] = _save_secrets(tmp / SECRETS_FILE)
        _save_fieldkey(tmp / FIELDKEY_FILE, env)
        _replace(data_dir, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return counts


def _replace(data_dir: Path, tmp: Path) -> None:
    for name in (TABLE_FILE, S3_DIR, SECRETS_FILE, FIELDKEY_FILE):
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
            batch.append({"PutRequest": {"Item": _from_json(json.loads(line))}})
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
    counts["secrets"] = _restore_secrets(data_dir / SECRETS_FILE)
    _restore_fieldkey(data_dir / FIELDKEY_FILE, env)
    return counts


def _write_private(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.chmod(path, 0o600)


def _save_secrets(path: Path) -> int:
    sm = client("secretsmanager")
    secrets = []
    for page in sm.get_paginator("list_secrets").paginate():
        for entry in page.get("SecretList", []):
            value = sm.get_secret_value(SecretId=entry["ARN"])
            if "SecretString" in value:
                secrets.append({"name": entry["Name"], "string": value["SecretString"]})
    _write_private(path, secrets)
    return len(secrets)


def _restore_secrets(path: Path) -> int:
    if not path.exists():
        return 0
    sm = client("secretsmanager")
    secrets = json.loads(path.read_text(encoding="utf-8"))
    for secret in secrets:
        try:
            sm.create_secret(Name=secret["name"], SecretString=secret["string"])
        except sm.exceptions.ResourceExistsException:
            sm.put_secret_value(SecretId=secret["name"], SecretString=secret["string"])
    return len(secrets)


def _save_fieldkey(path: Path, env: dict[str, str]) -> None:
    item = client("dynamodb").get_item(TableName=env["TABLE_NAME"], Key=_FIELDKEY, ConsistentRead=True).get("Item")
    if item is None:
        return  # no ID number stored yet: no data key either
    blob = base64.b64decode(item["data"]["M"]["encrypted_key"]["S"])
    plaintext = client("kms").decrypt(CiphertextBlob=blob)["Plaintext"]
    _write_private(path, {"key": base64.b64encode(plaintext).decode("ascii")})


def _restore_fieldkey(path: Path, env: dict[str, str]) -> None:
    if not path.exists() or not env.get("DATA_KEY_ARN"):
        return
    plaintext = base64.b64decode(json.loads(path.read_text(encoding="utf-8"))["key"])
    blob = client("kms").encrypt(KeyId=env["DATA_KEY_ARN"], Plaintext=plaintext)["CiphertextBlob"]
    client("dynamodb").update_item(
        TableName=env["TABLE_NAME"], Key=_FIELDKEY, UpdateExpression="SET #d.encrypted_key = :k, #d.key_arn = :a",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":k": {"S": base64.b64encode(blob).decode("ascii")}, ":a": {"S": env["DATA_KEY_ARN"]}})


def _write(ddb: Any, table: str, batch: list[dict[str, Any]]) -> None:
    pending = {table: batch}
    for _ in range(10):
        answer = ddb.batch_write_item(RequestItems=pending)
        pending = answer.get("UnprocessedItems") or {}
        if not pending:
            return
    raise RuntimeError("restore could not write every item")
