"""Rate limits kept in the table, for the public (citizen) routes.

* :func:`hit`: a fixed window (one conditional UpdateItem per check): submissions per phone and
  per source address, so that nobody floods the inbox.
* :func:`check_backoff` / :func:`record_failure`: a wait that doubles after each failure once a few
  are used up, capped, forgotten after a quiet window: failed tracking-code proofs per source
  address and per code, so that guessing phone digits is slow while the citizen is only delayed.
"""
from __future__ import annotations

import hashlib
import time

from botocore.exceptions import ClientError

from chalicelib.aws import client
from chalicelib.config import blind_index_key, get_settings
from chalicelib.services.errors import TooManyRequests


def hit(bucket: str, subject: str, *, limit: int, window_seconds: int) -> None:
    """Count one use of ``subject`` in ``bucket``; TooManyRequests once ``limit`` is reached."""
    now = int(time.time())
    window = now // window_seconds
    digest = hashlib.sha256(f"{blind_index_key()}|{subject}".encode()).hexdigest()[:32]
    try:
        client("dynamodb").update_item(
            TableName=get_settings().table_name,
            Key={"PK": {"S": f"RATE#{bucket}#{digest}"}, "SK": {"S": f"W#{window}"}},
            UpdateExpression="ADD #n :one SET expires_at = if_not_exists(expires_at, :exp)",
            ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
            ExpressionAttributeNames={"#n": "hits"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(limit)},
                                       ":exp": {"N": str((window + 2) * window_seconds)}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            retry_after = (window + 1) * window_seconds - now
            raise TooManyRequests("too many requests, please try again later", retry_after=max(retry_after, 1),
                                  details={"limit": limit, "window_seconds": window_seconds}) from None
        raise


def _key(bucket: str, subject: str) -> dict[str, dict[str, str]]:
    digest = hashlib.sha256(f"{blind_index_key()}|{subject}".encode()).hexdigest()[:32]
    return {"PK": {"S": f"RATE#{bucket}#{digest}"}, "SK": {"S": "BACKOFF"}}


def backoff_wait(failures: int, *, free: int, base_seconds: int, max_seconds: int) -> int:
    """Seconds to wait after the last failure, once ``free`` failures are used up: doubling, capped."""
    if failures < free:
        return 0
    return min(base_seconds * 2 ** (failures - free), max_seconds)


def check_backoff(bucket: str, subject: str, *, free: int, base_seconds: int, max_seconds: int,
                  window_seconds: int, message: str = "too many failed attempts, please try again later") -> None:
    """TooManyRequests while ``subject`` is backing off after failed attempts (one GetItem).

    Failures older than ``window_seconds`` are forgotten; a refused attempt is not a failure, so a
    flood of them never lengthens the wait: whoever asks after it ends is heard.
    """
    item = client("dynamodb").get_item(TableName=get_settings().table_name, Key=_key(bucket, subject),
                                       ConsistentRead=True).get("Item")
    if not item:
        return
    now = int(time.time())
    last = int(item["last_failure"]["N"])
    if now - last >= window_seconds:
        return
    wait = backoff_wait(int(item["failures"]["N"]), free=free, base_seconds=base_seconds, max_seconds=max_seconds)
    if now < last + wait:
        raise TooManyRequests(message, retry_after=last + wait - now,
                              details={"retry_after_seconds": last + wait - now})


def record_failure(bucket: str, subject: str, *, window_seconds: int) -> None:
    """Count one failed attempt by ``subject`` (the count restarts after ``window_seconds`` without one)."""
    now = int(time.time())
    ddb = client("dynamodb")
    common = {"TableName": get_settings().table_name, "Key": _key(bucket, subject)}
    values = {":now": {"N": str(now)}, ":exp": {"N": str(now + 2 * window_seconds)},
              ":since": {"N": str(now - window_seconds)}, ":one": {"N": "1"}}
    try:  # within the window: one more failure
        ddb.update_item(**common, UpdateExpression="ADD failures :one SET last_failure = :now, expires_at = :exp",
                        ConditionExpression="last_failure > :since", ExpressionAttributeValues=values)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        ddb.update_item(**common, UpdateExpression="SET failures = :one, last_failure = :now, expires_at = :exp",
                        ExpressionAttributeValues={k: values[k] for k in (":now", ":exp", ":one")})
