"""Field-level encryption of ID numbers: KMS envelope encryption with a per-container data key.

The table never holds an ID number in clear. A 256-bit data key is generated once by KMS
(``GenerateDataKey`` under the platform's ``DataKey``); only its KMS-encrypted form is stored
(``CONFIG/FIELDKEY``). Each container asks KMS to decrypt it once and then encrypts and decrypts
fields locally with AES-256-GCM, so requests pay no KMS call. Lookups use a keyed blind index
(``store.tickets.blind_index``), never the ciphertext.
"""
from __future__ import annotations

import base64
import os
import threading
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pynamodb.exceptions import PutError

from chalicelib.aws import client
from chalicelib.config import get_settings
from chalicelib.store.models import DirectoryItem

PREFIX = "enc:v1:"
_KEY_ENTRY = ("CONFIG", "FIELDKEY")
_lock = threading.Lock()
_cache: dict[str, bytes] = {}


def _load_or_create_key() -> bytes:
    settings = get_settings()
    if not settings.data_key_arn:
        raise RuntimeError("DATA_KEY_ARN is not configured: ID numbers cannot be stored")
    kms = client("kms")
    for _ in range(3):
        try:
            item = DirectoryItem.get(*_KEY_ENTRY, consistent_read=True)
            blob = base64.b64decode(item.data.as_dict()["encrypted_key"])
            return kms.decrypt(CiphertextBlob=blob, KeyId=settings.data_key_arn)["Plaintext"]
        except DirectoryItem.DoesNotExist:
            generated = kms.generate_data_key(KeyId=settings.data_key_arn, KeySpec="AES_256")
            entry = DirectoryItem(*_KEY_ENTRY, data={
                "encrypted_key": base64.b64encode(generated["CiphertextBlob"]).decode(),
                "key_arn": settings.data_key_arn})
            try:
                entry.save(condition=DirectoryItem.PK.does_not_exist())
                return generated["Plaintext"]
            except PutError:
                continue  # another container created it first: read theirs
    raise RuntimeError("could not establish the field encryption key")


def _key() -> bytes:
    table = get_settings().table_name
    with _lock:
        if table not in _cache:
            _cache[table] = _load_or_create_key()
        return _cache[table]


def forget_key() -> None:
    """Drop the cached data key (tests; key rotation)."""
    with _lock:
        _cache.clear()


def encrypt(value: str) -> str:
    """``enc:v1:<base64(nonce | ciphertext)>``."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key()).encrypt(nonce, value.encode("utf-8"), b"id_number")
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    """The clear value of an ``encrypt`` token; a value without the prefix is returned as is."""
    if not token.startswith(PREFIX):
        return token
    raw = base64.b64decode(token[len(PREFIX):])
    return AESGCM(_key()).decrypt(raw[:12], raw[12:], b"id_number").decode("utf-8")


def _parties(ticket_data: dict[str, Any]) -> list[dict[str, Any]]:
    parties = [ticket_data.get("complainant")]
    parties += [joined.get("party") for joined in ticket_data.get("co_complainants") or [] if isinstance(joined, dict)]
    return [p for p in parties if isinstance(p, dict)]


def seal_ticket(ticket_data: dict[str, Any]) -> dict[str, Any]:
    """Encrypt every ID number in a ticket's stored form (in place; returns it)."""
    for party in _parties(ticket_data):
        value = party.get("id_number")
        if isinstance(value, str) and value and not value.startswith(PREFIX):
            party["id_number"] = encrypt(value)
    return ticket_data


def open_ticket(ticket_data: dict[str, Any]) -> dict[str, Any]:
    """Decrypt every ID number of a stored ticket (in place; returns it)."""
    for party in _parties(ticket_data):
        value = party.get("id_number")
        if isinstance(value, str) and value.startswith(PREFIX):
            party["id_number"] = decrypt(value)
    return ticket_data
