"""What users did, kept under ``.data/``: the table's items, the buckets' objects, the secrets and the
field-encryption data key; restored at the next start.

On disk:

* ``table.jsonl``: the base, one item per line (DynamoDB JSON, binary values base64);
* ``table.journal.jsonl``: batches of changes appended since the base was written. A batch is
  ``{"put": item}`` / ``{"delete": key}`` lines followed by one ``{"commit": n}`` line, written and
  fsynced; a restore applies committed batches only, so a save cut short by a crash (``kill -9``,
  power loss) loses that save, never the ones before it. When the journal outgrows the base, the
  saver folds it into a new base (written beside it, fsynced, renamed over it);
* ``s3/<bucket>/<key>`` (+ ``.meta.json``) and ``s3-manifest.json``: objects, rewritten only when their
  ETag changed; ``secrets.json`` and ``fieldkey.json`` (mode 0600);
* ``state.json``: written before anything is seeded. A data folder that has it is never seeded again
  (a restart restores; ``make reset`` starts over), even if the previous run died before its first save.

Every file is replaced atomically (temporary file in the same folder, fsync, rename); leftovers of an
interrupted write (``.tmp-*`` files, the ``.snapshot-*`` folders of the former full-copy format) are
removed at start. The saving itself (when, how often, retries) is :mod:`chalicelib.local.saver`'s.

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
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chalicelib.aws import client
from chalicelib.local.changes import Capture, key_text

TABLE_FILE = "table.jsonl"
JOURNAL_FILE = "table.journal.jsonl"
STATE_FILE = "state.json"
S3_DIR = "s3"
S3_MANIFEST = "s3-manifest.json"
SECRETS_FILE = "secrets.json"
FIELDKEY_FILE = "fieldkey.json"
TMP_PREFIX = ".tmp-"
FORMAT = 2
_FIELDKEY = {"PK": {"S": "CONFIG"}, "SK": {"S": "FIELDKEY"}}


class SnapshotError(RuntimeError):
    """The data folder cannot be read back as it was written."""


class JournalReplaced(SnapshotError):
    """The journal is shorter than what this process committed to it: it was removed or replaced
    from outside (the folder deleted under a running runtime). Appending would leave a hole."""


# ----------------------------------------------------------------------------- files
def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, chunks: bytes | Iterable[bytes], *, private: bool = False) -> int:
    """Replace ``path`` with ``chunks`` as one step: a reader (or a restart after a crash) sees the
    old file or the new one, never a torn one. Returns the bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}-", dir=path.parent)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in ([chunks] if isinstance(chunks, bytes) else chunks):
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if private:
            os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return written


def _line(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def clean_leftovers(data_dir: Path) -> list[str]:
    """Remove what interrupted writes left behind (``.snapshot-*`` folders, ``.tmp-*`` files)."""
    removed: list[str] = []
    if not data_dir.exists():
        return removed
    for path in data_dir.glob(".snapshot-*"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        removed.append(path.name)
    for path in data_dir.rglob(f"{TMP_PREFIX}*"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(str(path.relative_to(data_dir)))
    return removed


def wipe(data_dir: Path) -> None:
    """Forget the folder's snapshot (``--reset``): every file this module writes, nothing else."""
    for name in (TABLE_FILE, JOURNAL_FILE, STATE_FILE, S3_MANIFEST, SECRETS_FILE, FIELDKEY_FILE):
        (data_dir / name).unlink(missing_ok=True)
    shutil.rmtree(data_dir / S3_DIR, ignore_errors=True)


# ----------------------------------------------------------------------------- state marker
def exists(data_dir: Path) -> bool:
    """Has this folder held data (a snapshot, or a run that began seeding it)? Then never seed it."""
    return any((data_dir / name).exists() for name in (STATE_FILE, TABLE_FILE, JOURNAL_FILE))


def has_table_data(data_dir: Path) -> bool:
    """Is there any saved table data (a base or a journal)?"""
    return (data_dir / TABLE_FILE).exists() or (data_dir / JOURNAL_FILE).exists()


def read_state(data_dir: Path) -> dict[str, Any]:
    """The folder's ``state.json`` ({} when absent: a folder of the former format)."""
    path = data_dir / STATE_FILE
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def write_state(data_dir: Path, state: dict[str, Any]) -> None:
    """Replace ``state.json`` atomically."""
    atomic_write(data_dir / STATE_FILE, json.dumps({"format": FORMAT, **state}, indent=1).encode("utf-8"))


# ----------------------------------------------------------------------------- table: journal
def append(data_dir: Path, capture: Capture, sequence: int, *, committed_size: int | None = None,
           before_commit: Callable[[], None] | None = None) -> int:
    """Append one committed batch (the captured changes) to the journal; returns bytes written.

    ``committed_size``: the journal's size after its last commit, as the caller knows it; a longer
    file holds the remains of a failed append, which are cut off first (else the next commit line
    would commit them, a torn line included). ``before_commit`` runs after the batch's lines are on
    disk and before its commit line (a test hook: a crash there must lose this batch only)."""
    if not capture.items:
        return 0
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / JOURNAL_FILE
    created = not path.exists()
    written = 0
    with open(path, "ab") as out:
        if committed_size is not None and out.tell() < committed_size:
            raise JournalReplaced(f"{path} has {out.tell()} bytes, {committed_size} were committed")
        if committed_size is not None and out.tell() > committed_size:
            out.truncate(committed_size)
            out.seek(committed_size)
        body = b"".join(_line({"put": item}) if item is not None else _line({"delete": capture.keys[text]})
                        for text, item in capture.items.items())
        out.write(body)
        written += len(body)
        if before_commit is not None:
            out.flush()
            os.fsync(out.fileno())
            before_commit()
        commit = _line({"commit": sequence, "at": datetime.now(timezone.utc).isoformat(), "items": len(capture.items)})
        out.write(commit)
        written += len(commit)
        out.flush()
        os.fsync(out.fileno())
    if created:
        _fsync_dir(data_dir)
    return written


def _read_base(data_dir: Path) -> Iterator[dict[str, Any]]:
    path = data_dir / TABLE_FILE
    if not path.exists():
        return
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:  # the base is replaced whole: it is never torn
                    raise SnapshotError(f"{path}:{number}: {exc}") from exc


def _read_journal(data_dir: Path) -> tuple[list[list[dict[str, Any]]], int, int]:
    """Committed batches, the byte offset after the last commit, and the last sequence number."""
    path = data_dir / JOURNAL_FILE
    batches: list[list[dict[str, Any]]] = []
    committed_at = sequence = 0
    if not path.exists():
        return batches, committed_at, sequence
    pending: list[dict[str, Any]] = []
    offset = 0
    with open(path, "rb") as lines:
        for raw in lines:
            offset += len(raw)
            if not raw.endswith(b"\n"):
                break  # a line cut short by a crash: the batch it belongs to never committed
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                break
            if "commit" in entry:
                batches.append(pending)
                pending = []
                committed_at, sequence = offset, int(entry["commit"])
            else:
                pending.append(entry)
    return batches, committed_at, sequence


def load_items(data_dir: Path, key_names: tuple[str, ...]) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """The saved table: the base with the journal's committed batches applied; and counts."""
    items: dict[str, dict[str, Any]] = {}

    def text_of(item: dict[str, Any]) -> str:
        try:
            return key_text({name: item[name] for name in key_names})
        except KeyError as exc:
            raise SnapshotError(f"a saved item lacks the key attribute {exc}") from exc

    for item in _read_base(data_dir):
        items[text_of(item)] = item
    base = len(items)
    batches, committed_at, sequence = _read_journal(data_dir)
    for batch in batches:
        for entry in batch:
            if "put" in entry:
                items[text_of(entry["put"])] = entry["put"]
            else:
                items.pop(key_text(entry["delete"]), None)
    journal = data_dir / JOURNAL_FILE
    torn = journal.stat().st_size - committed_at if journal.exists() else 0
    return items, {"base": base, "batches": len(batches), "sequence": sequence, "uncommitted_bytes": torn}


def repair_journal(data_dir: Path) -> int:
    """Cut an uncommitted tail off the journal (a save a crash interrupted); returns bytes cut."""
    path = data_dir / JOURNAL_FILE
    if not path.exists():
        return 0
    _, committed_at, _ = _read_journal(data_dir)
    torn = path.stat().st_size - committed_at
    if torn:
        with open(path, "r+b") as out:
            out.truncate(committed_at)
            out.flush()
            os.fsync(out.fileno())
    return torn


def journal_bytes(data_dir: Path) -> int:
    path = data_dir / JOURNAL_FILE
    return path.stat().st_size if path.exists() else 0


def base_bytes(data_dir: Path) -> int:
    path = data_dir / TABLE_FILE
    return path.stat().st_size if path.exists() else 0


def write_base(data_dir: Path, capture: Capture) -> int:
    """Replace the base with a full capture and empty the journal; returns the items written."""
    items = [item for item in capture.items.values() if item is not None]
    atomic_write(data_dir / TABLE_FILE, (_line(item) for item in items))
    atomic_write(data_dir / JOURNAL_FILE, b"")
    return len(items)


def compact(data_dir: Path, key_names: tuple[str, ...]) -> int:
    """Fold the journal into a new base; returns the items in it. The new base replaces the old one
    atomically before the journal is emptied, and replaying a journal over a base it is already in
    changes nothing, so a crash between the two steps loses nothing."""
    items, _ = load_items(data_dir, key_names)
    atomic_write(data_dir / TABLE_FILE, (_line(item) for item in items.values()))
    journal = data_dir / JOURNAL_FILE
    if journal.exists():
        atomic_write(journal, b"")
    return len(items)


# ----------------------------------------------------------------------------- the rest: objects, secrets, key
def save_objects(data_dir: Path, env: dict[str, str]) -> dict[str, int]:
    """Bring ``s3/`` up to date with the buckets, downloading only objects whose ETag changed."""
    manifest_path = data_dir / S3_MANIFEST
    manifest: dict[str, dict[str, str]] = (json.loads(manifest_path.read_text(encoding="utf-8"))
                                           if manifest_path.exists() else {})
    s3 = client("s3")
    counts = {"objects": 0, "written": 0, "removed": 0}
    current: dict[str, dict[str, str]] = {}
    for bucket in _buckets(env):
        seen = current.setdefault(bucket, {})
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                seen[obj["Key"]] = obj["ETag"]
        known = manifest.get(bucket, {})
        for key, etag in seen.items():
            target = data_dir / S3_DIR / bucket / key
            if known.get(key) == etag and target.exists():
                continue
            body = s3.get_object(Bucket=bucket, Key=key)
            meta = {"ContentType": body.get("ContentType", "application/octet-stream"),
                    "Metadata": body.get("Metadata", {})}
            atomic_write(target, body["Body"].read())
            atomic_write(target.with_name(target.name + ".meta.json"), json.dumps(meta).encode("utf-8"))
            counts["written"] += 1
        for key in set(known) - set(seen):
            target = data_dir / S3_DIR / bucket / key
            target.unlink(missing_ok=True)
            target.with_name(target.name + ".meta.json").unlink(missing_ok=True)
            counts["removed"] += 1
        counts["objects"] += len(seen)
    if current != manifest:
        atomic_write(manifest_path, json.dumps(current, ensure_ascii=False).encode("utf-8"))
    return counts


def _buckets(env: dict[str, str]) -> list[str]:
    return [env[k] for k in ("REPORTS_BUCKET", "EXPORTS_BUCKET", "MODELS_BUCKET") if env.get(k)]


def _write_private(path: Path, data: Any) -> bool:
    """Write a private JSON file if its content changed; returns whether it was written."""
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    if path.exists() and path.read_bytes() == body:
        return False
    atomic_write(path, body, private=True)
    return True


def save_secrets(data_dir: Path) -> int:
    """Copy Secrets Manager's string secrets to ``secrets.json``; returns how many."""
    sm = client("secretsmanager")
    secrets = []
    for page in sm.get_paginator("list_secrets").paginate():
        for entry in page.get("SecretList", []):
            value = sm.get_secret_value(SecretId=entry["ARN"])
            if "SecretString" in value:
                secrets.append({"name": entry["Name"], "string": value["SecretString"]})
    _write_private(data_dir / SECRETS_FILE, sorted(secrets, key=lambda s: s["name"]))
    return len(secrets)


def save_fieldkey(data_dir: Path, env: dict[str, str]) -> bool:
    """Keep the field-encryption data key in clear (see module doc); False when none exists yet."""
    item = client("dynamodb").get_item(TableName=env["TABLE_NAME"], Key=_FIELDKEY, ConsistentRead=True).get("Item")
    if item is None:
        return False  # no ID number stored yet: no data key either
    blob = base64.b64decode(item["data"]["M"]["encrypted_key"]["S"])
    plaintext = client("kms").decrypt(CiphertextBlob=blob)["Plaintext"]
    _write_private(data_dir / FIELDKEY_FILE, {"key": base64.b64encode(plaintext).decode("ascii")})
    return True


# ----------------------------------------------------------------------------- full save (scan), restore
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
    """An item as botocore returns it, as JSON: binary values base64-encoded."""
    return {name: _binary(value, lambda b: base64.b64encode(b).decode("ascii")) for name, value in item.items()}


def _from_json(item: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`_to_json`."""
    return {name: _binary(value, base64.b64decode) for name, value in item.items()}


def key_names(env: dict[str, str]) -> tuple[str, ...]:
    """The table's key attributes, hash first."""
    schema = client("dynamodb").describe_table(TableName=env["TABLE_NAME"])["Table"]["KeySchema"]
    return tuple(k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"] != "HASH"))


def save(data_dir: Path, env: dict[str, str]) -> dict[str, int]:
    """A full copy through the AWS APIs (a Scan; the local runtime saves incrementally instead):
    a new base, an empty journal, the objects, secrets and data key. Returns counts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    counts = {"items": 0}

    def lines() -> Iterator[bytes]:
        paginator = client("dynamodb").get_paginator("scan")  # local runtime only: a full copy is the point
        for page in paginator.paginate(TableName=env["TABLE_NAME"]):
            for item in page.get("Items", []):
                counts["items"] += 1
                yield _line(_to_json(item))

    atomic_write(data_dir / TABLE_FILE, lines())
    if (data_dir / JOURNAL_FILE).exists():
        atomic_write(data_dir / JOURNAL_FILE, b"")
    counts["objects"] = save_objects(data_dir, env)["objects"]
    counts["secrets"] = save_secrets(data_dir)
    save_fieldkey(data_dir, env)
    return counts


def restore(data_dir: Path, env: dict[str, str]) -> dict[str, int]:
    """Load the folder into freshly created resources; returns counts. A journal tail that never
    committed (a crash mid-save) is cut off first."""
    started = time.monotonic()
    torn = repair_journal(data_dir)
    items, loaded = load_items(data_dir, key_names(env))
    counts = {"items": 0, "objects": 0, "journal_batches": loaded["batches"], "sequence": loaded["sequence"],
              "torn_bytes": torn}
    backend = _in_process_backend(env["TABLE_NAME"])
    if backend is not None:
        for item in items.values():  # the same put the HTTP layer makes, without HTTP (stream records too)
            backend.put_item(env["TABLE_NAME"], item)
            counts["items"] += 1
    else:
        ddb = client("dynamodb")
        batch: list[dict[str, Any]] = []
        for item in items.values():
            batch.append({"PutRequest": {"Item": _from_json(item)}})
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
            if not path.is_file() or path.name.endswith(".meta.json") or path.name.startswith(TMP_PREFIX):
                continue
            bucket, key = path.relative_to(root).parts[0], "/".join(path.relative_to(root).parts[1:])
            meta_file = path.with_name(path.name + ".meta.json")
            meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(),
                          ContentType=meta.get("ContentType", "application/octet-stream"),
                          Metadata=meta.get("Metadata", {}))
            counts["objects"] += 1
    (data_dir / S3_MANIFEST).unlink(missing_ok=True)  # new ETags in the new buckets: compare afresh
    counts["secrets"] = _restore_secrets(data_dir / SECRETS_FILE)
    _restore_fieldkey(data_dir / FIELDKEY_FILE, env)
    counts["seconds"] = round(time.monotonic() - started, 1)
    return counts


def _in_process_backend(table_name: str) -> Any | None:
    """moto's DynamoDB backend holding ``table_name`` when moto runs in this process (the local runtime's
    embedded server, the tests' mock), else None. Restoring through it skips an HTTP round trip and
    botocore's (de)serialisation per 25 items: most of a restart's time with the demo's data."""
    try:
        from moto.dynamodb.models import dynamodb_backends
    except ImportError:
        return None
    for account in list(dynamodb_backends.keys()):
        for region in list(dynamodb_backends[account].keys()):
            backend = dynamodb_backends[account][region]
            if table_name in backend.tables:
                return backend
    return None


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
    raise SnapshotError("restore could not write every item")
