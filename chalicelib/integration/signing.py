"""Standard Webhooks v1 signatures, both ways (https://www.standardwebhooks.com).

* Headers: ``webhook-id``, ``webhook-timestamp`` (integer Unix seconds), ``webhook-signature``.
* Signed content: ``{id}.{timestamp}.{raw body}``, over the exact bytes sent (never re-serialised).
* Symmetric: HMAC-SHA256 with a ``whsec_<base64>`` secret, serialised ``v1,<base64>``.
* Asymmetric: ed25519, ``whsk_<base64>`` signing key / ``whpk_<base64>`` public key, ``v1a,<base64>``.
* The signature header holds several signatures separated by spaces, so that secrets rotate with no
  downtime (sign with the old and the new key; the receiver accepts either).
* Verification compares in constant time and refuses timestamps more than 5 minutes off.

Pure functions: no I/O, no logging (a secret must never reach a log line).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _random
from dataclasses import dataclass
from typing import Iterable, Mapping

HMAC_PREFIX = "whsec_"
SIGNING_KEY_PREFIX = "whsk_"
PUBLIC_KEY_PREFIX = "whpk_"
TOLERANCE_SECONDS = 5 * 60
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
MAX_SIGNATURES = 10  # more than that in one header is an attack, not a rotation
_ID_RE = re.compile(r"^[A-Za-z0-9_\-:]{1,128}$")  # no "." (it delimits the signed content)
_TS_RE = re.compile(r"^[0-9]{1,12}$")


class SignatureError(Exception):
    """The webhook is not authentic: missing headers, bad timestamp or no matching signature.

    ``reason`` is a short machine word for metrics and the answer; it never contains key material.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebhookHeaders:
    """The three Standard Webhooks headers, read from a request."""

    id: str
    timestamp: int
    signatures: tuple[str, ...]

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> "WebhookHeaders":
        """Read the headers (names case-insensitive); SignatureError when one is missing or malformed."""
        lower = {str(k).lower(): v for k, v in headers.items()}
        webhook_id = str(lower.get("webhook-id") or "")
        raw_ts = str(lower.get("webhook-timestamp") or "")
        raw_sig = str(lower.get("webhook-signature") or "")
        if not webhook_id or not raw_ts or not raw_sig:
            raise SignatureError("missing_headers")
        if not _ID_RE.match(webhook_id):
            raise SignatureError("bad_webhook_id")
        if not _TS_RE.match(raw_ts):
            raise SignatureError("bad_timestamp")
        signatures = tuple(s for s in raw_sig.split(" ") if s)
        if not signatures or len(signatures) > MAX_SIGNATURES:
            raise SignatureError("bad_signature_header")
        return cls(id=webhook_id, timestamp=int(raw_ts), signatures=signatures)


# --------------------------------------------------------------------------- keys
def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ValueError("not base64") from exc


def hmac_key(secret: str) -> bytes:
    """The raw key behind ``whsec_<base64>`` (the prefix is optional, as in the reference libraries)."""
    body = secret[len(HMAC_PREFIX):] if secret.startswith(HMAC_PREFIX) else secret
    key = _b64decode(body)
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(f"an HMAC secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")
    return key


def new_hmac_secret(size: int = 32) -> str:
    """A fresh random ``whsec_`` secret."""
    return HMAC_PREFIX + base64.b64encode(_random.token_bytes(size)).decode("ascii")


def new_ed25519_keypair() -> tuple[str, str]:
    """A fresh ed25519 key pair as (``whsk_`` signing key, ``whpk_`` public key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return (SIGNING_KEY_PREFIX + base64.b64encode(raw_private).decode("ascii"),
            PUBLIC_KEY_PREFIX + base64.b64encode(raw_public).decode("ascii"))


def public_key_of(signing_key: str) -> str:
    """The ``whpk_`` public key of a ``whsk_`` signing key (what a partner needs to verify us)."""
    from cryptography.hazmat.primitives import serialization

    raw = _private_key(signing_key).public_key().public_bytes(serialization.Encoding.Raw,
                                                              serialization.PublicFormat.Raw)
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def _private_key(signing_key: str):  # -> Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not signing_key.startswith(SIGNING_KEY_PREFIX):
        raise ValueError("an ed25519 signing key starts with whsk_")
    raw = _b64decode(signing_key[len(SIGNING_KEY_PREFIX):])
    if len(raw) != 32:
        raise ValueError("an ed25519 signing key has 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _public_key(public_key: str):  # -> Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not public_key.startswith(PUBLIC_KEY_PREFIX):
        raise ValueError("an ed25519 public key starts with whpk_")
    raw = _b64decode(public_key[len(PUBLIC_KEY_PREFIX):])
    if len(raw) != 32:
        raise ValueError("an ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def check_key(kind: str, value: str) -> None:
    """ValueError unless ``value`` is a well-formed key of ``kind`` (hmac | ed25519_public | ed25519_signing)."""
    if kind == "hmac":
        if not value.startswith(HMAC_PREFIX):
            raise ValueError("an HMAC secret starts with whsec_")
        hmac_key(value)
    elif kind == "ed25519_public":
        _public_key(value)
    elif kind == "ed25519_signing":
        _private_key(value)
    else:
        raise ValueError(f"unknown key kind {kind}")


# --------------------------------------------------------------------------- signing
def signed_content(webhook_id: str, timestamp: int, body: bytes) -> bytes:
    """``{id}.{timestamp}.{body}`` as bytes."""
    return f"{webhook_id}.{timestamp}.".encode("utf-8") + body


def sign_hmac(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>``."""
    digest = hmac.new(hmac_key(secret), signed_content(webhook_id, timestamp, body), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_ed25519(signing_key: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1a,<base64 ed25519 signature>``."""
    signature = _private_key(signing_key).sign(signed_content(webhook_id, timestamp, body))
    return "v1a," + base64.b64encode(signature).decode("ascii")


def signature_header(webhook_id: str, timestamp: int, body: bytes, *, hmac_secrets: Iterable[str] = (),
                     signing_keys: Iterable[str] = ()) -> str:
    """The ``webhook-signature`` value: one signature per active key, space-separated."""
    parts = [sign_hmac(s, webhook_id, timestamp, body) for s in hmac_secrets]
    parts += [sign_ed25519(k, webhook_id, timestamp, body) for k in signing_keys]
    if not parts:
        raise ValueError("no key to sign with")
    return " ".join(parts)


def sign_headers(webhook_id: str, timestamp: int, body: bytes, *, hmac_secrets: Iterable[str] = (),
                 signing_keys: Iterable[str] = ()) -> dict[str, str]:
    """The three headers for one attempt (the timestamp is the attempt's, so retries re-sign)."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signature_header(webhook_id, timestamp, body, hmac_secrets=hmac_secrets,
                                              signing_keys=signing_keys),
    }


# --------------------------------------------------------------------------- verification
def verify(headers: Mapping[str, str], body: bytes, *, now: float, hmac_secrets: Iterable[str] = (),
           public_keys: Iterable[str] = (), tolerance: int = TOLERANCE_SECONDS) -> WebhookHeaders:
    """Check a webhook against the raw body bytes; returns its headers, or raises SignatureError.

    The timestamp must be within ``tolerance`` seconds of ``now`` (both ways: a stale replay and a
    timestamp from the future are refused). Any one matching signature is enough; every candidate
    is compared in constant time.
    """
    parsed = WebhookHeaders.parse(headers)
    if parsed.timestamp < now - tolerance:
        raise SignatureError("timestamp_too_old")
    if parsed.timestamp > now + tolerance:
        raise SignatureError("timestamp_in_future")
    content = signed_content(parsed.id, parsed.timestamp, body)
    hmac_keys = [hmac_key(s) for s in hmac_secrets]
    public = [_public_key(k) for k in public_keys]
    matched = False
    for signature in parsed.signatures:
        version, _, encoded = signature.partition(",")
        if version == "v1" and hmac_keys:
            expected = [base64.b64encode(hmac.new(k, content, hashlib.sha256).digest()) for k in hmac_keys]
            given = encoded.encode("ascii", "replace")
            for candidate in expected:
                matched |= hmac.compare_digest(candidate, given)
        elif version == "v1a" and public:
            matched |= _verify_ed25519(public, encoded, content)
    if not matched:
        raise SignatureError("no_matching_signature")
    return parsed


def _verify_ed25519(keys: list, encoded: str, content: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        raw = _b64decode(encoded)
    except ValueError:
        return False
    for key in keys:
        try:
            key.verify(raw, content)
            return True
        except InvalidSignature:
            continue
    return False
