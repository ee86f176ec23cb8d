"""Fixed-window rate limits kept in the table (one conditional UpdateItem per check).

Used on the public (citizen) routes: per phone and per source address for submissions, per
tracking code for look-ups, so that nobody floods the inbox or guesses phone digits.
"""
from __future__ import annotations

import hashlib
import time

from botocore.exceptions import ClientError

from chalicelib.api.errors import TooManyRequests
from chalicelib.aws import client
from chalicelib.config import get_settings


def hit(bucket: str, subject: str, *, limit: int, window_seconds: int) -> None:
    """Count one use of ``subject`` in ``bucket``; TooManyRequests once ``limit`` is reached."""
    now = int(time.time())
    window = now // window_seconds
    digest = hashlib.sha256(f"{get_settings().blind_index_key}|{subject}".encode()).hexdigest()[:32]
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
