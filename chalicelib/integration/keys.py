"""Partner signing keys in Secrets Manager (``partners/<partner id>``), read through Powertools.

One secret per partner holds its key bundle (JSON)::

    {"keys": [{"id": "k1a2b3", "kind": "hmac", "value": "whsec_...", "created_at": "...",
               "expires_at": null}, ...]}

Kinds: ``hmac`` (shared secret: verifies the partner's ``v1`` signatures and signs ours),
``ed25519_public`` (the partner's public key: verifies its ``v1a`` signatures) and
``ed25519_signing`` (our private key for this partner: signs ``v1a``). Rotation adds a key and
gives the old ones of the same kind an expiry (a grace period during which both are valid, and
outbound webhooks carry both signatures), so nobody's deliveries fail while the partner switches.

Values are cached by Powertools' ``SecretsProvider`` (5 minutes); a signature that matches no
cached key triggers one forced refresh (at most every 30 s per partner), so a rotation made by
another function instance is picked up at once. Key values never leave this module except to
sign/verify, or once in the admin's answer to a rotation; the table and the logs only ever see
:meth:`PartnerKey.meta`.
"""
from __future__ import annotations

import json
import secrets as _random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.aws import client
from chalicelib.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from chalicelib.integration import signing
from chalicelib.observability import logger

KINDS = ("hmac", "ed25519_public", "ed25519_signing")
SECRET_PREFIX = "partners/"
CACHE_SECONDS = 300
FORCED_REFRESH_INTERVAL = 30.0


@dataclass(frozen=True)
class PartnerKey:
    """One key of a partner's bundle."""

    id: str
    kind: str
    value: str
    created_at: str
    expires_at: str | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or datetime.fromisoformat(self.expires_at) > now

    def meta(self) -> dict[str, Any]:
        """What may be shown and stored: never the secret value (a public key is not secret)."""
        data: dict[str, Any] = {"id": self.id, "kind": self.kind, "created_at": self.created_at,
                                "expires_at": self.expires_at}
        if self.kind == "ed25519_public":
            data["public_key"] = self.value
        elif self.kind == "ed25519_signing":
            data["public_key"] = signing.public_key_of(self.value)
        return data

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "value": self.value, "created_at": self.created_at,
                "expires_at": self.expires_at}


def secret_name(partner_id: str) -> str:
    return SECRET_PREFIX + partner_id


def new_key(kind: str, now: datetime, value: str | None = None) -> PartnerKey:
    """A key of ``kind``: the given value (checked) or a freshly generated one."""
    if kind not in KINDS:
        raise ValidationFailed("unknown key kind", details={"kind": "one of " + ", ".join(KINDS)})
    if value is None:
        if kind == "hmac":
            value = signing.new_hmac_secret()
        elif kind == "ed25519_signing":
            value, _ = signing.new_ed25519_keypair()
        else:
            raise ValidationFailed("a partner's public key must be given", details={"value": "required"})
    try:
        signing.check_key(kind, value)
    except ValueError as exc:
        raise ValidationFailed("invalid key", details={"value": str(exc)}) from None
    return PartnerKey(id="k" + _random.token_hex(4), kind=kind, value=value, created_at=now.isoformat())


def _parse(raw: Any) -> list[PartnerKey]:
    if not isinstance(raw, dict) or not isinstance(raw.get("keys"), list):
        raise ValueError("a partner key bundle is {\"keys\": [...]}")
    return [PartnerKey(id=str(k["id"]), kind=str(k["kind"]), value=str(k["value"]), created_at=str(k["created_at"]),
                       expires_at=k.get("expires_at")) for k in raw["keys"]]


class KeyStore:
    """Loads (cached) and writes partner key bundles."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: Any = None
        self._provider: Any = None
        self._last_forced: dict[str, float] = {}

    def _secrets_provider(self) -> Any:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        current = client("secretsmanager")
        with self._lock:
            if self._provider is None or self._client is not current:  # new endpoint (tests, local runtime)
                self._client = current
                self._provider = SecretsProvider(boto3_client=current)
                self._last_forced.clear()
            return self._provider

    def load(self, partner_id: str, *, force: bool = False) -> list[PartnerKey]:
        """The partner's keys (cached up to 5 minutes unless ``force``); NotFound without a secret."""
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        provider = self._secrets_provider()
        try:
            raw = provider.get(secret_name(partner_id), max_age=CACHE_SECONDS, transform="json", force_fetch=force)
        except GetParameterError:
            raise NotFound(f"no keys for partner {partner_id}") from None
        try:
            return _parse(raw)
        except (ValueError, KeyError, TypeError):
            raise NotFound(f"the key bundle of partner {partner_id} is unreadable") from None

    def may_refresh(self, partner_id: str) -> bool:
        """True at most once per 30 s per partner (a forged signature must not flood Secrets Manager)."""
        self._secrets_provider()
        now = time.monotonic()
        with self._lock:
            if now - self._last_forced.get(partner_id, -FORCED_REFRESH_INTERVAL) < FORCED_REFRESH_INTERVAL:
                return False
            self._last_forced[partner_id] = now
            return True

    def create(self, partner_id: str, keys: list[PartnerKey]) -> None:
        """Create the partner's secret (Conflict if it exists)."""
        sm = client("secretsmanager")
        body = json.dumps({"keys": [k.to_json() for k in keys]})
        try:
            sm.create_secret(Name=secret_name(partner_id), SecretString=body,
                             Description=f"Standard Webhooks keys of partner {partner_id}")
        except sm.exceptions.ResourceExistsException:
            raise Conflict(f"partner {partner_id} already has keys") from None
        self._forget(partner_id)

    def save(self, partner_id: str, keys: list[PartnerKey]) -> None:
        """Replace the bundle (a new AWSCURRENT version; the old one stays as AWSPREVIOUS)."""
        client("secretsmanager").put_secret_value(SecretId=secret_name(partner_id),
                                                  SecretString=json.dumps({"keys": [k.to_json() for k in keys]}))
        self._forget(partner_id)

    def ensure(self, partner_id: str, keys: list[PartnerKey]) -> None:
        """Create the secret, or replace its bundle if it exists (seeding)."""
        try:
            self.create(partner_id, keys)
        except Conflict:
            self.save(partner_id, keys)

    def _forget(self, partner_id: str) -> None:
        self._secrets_provider().clear_cache()
        with self._lock:
            self._last_forced.pop(partner_id, None)

    # ---- rotation --------------------------------------------------------------------
    def rotate(self, partner_id: str, kind: str, now: datetime, *, value: str | None = None,
               grace: timedelta = timedelta(hours=24)) -> tuple[PartnerKey, list[PartnerKey]]:
        """Add a key of ``kind``; keys of that kind without an expiry expire after ``grace``.

        Returns the new key (its value is shown to the admin once) and the whole bundle.
        """
        keys = [k for k in self.load(partner_id, force=True) if k.active(now)]
        added = new_key(kind, now, value)
        if any(k.kind == kind and k.value == added.value for k in keys):
            raise Conflict("this key is already in use", details={"value": "already a key of this partner"})
        until = (now + grace).isoformat()
        rotated = [PartnerKey(k.id, k.kind, k.value, k.created_at, until)
                   if k.kind == kind and k.expires_at is None else k for k in keys]
        bundle = rotated + [added]
        self.save(partner_id, bundle)
        return added, bundle

    def revoke(self, partner_id: str, key_id: str, now: datetime) -> list[PartnerKey]:
        """Remove a key at once (a leaked secret); the last key able to verify the partner stays."""
        keys = [k for k in self.load(partner_id, force=True) if k.active(now)]
        if not any(k.id == key_id for k in keys):
            raise NotFound(f"no active key {key_id}")
        remaining = [k for k in keys if k.id != key_id]
        if not any(k.kind in ("hmac", "ed25519_public") for k in remaining):
            raise Conflict("the partner's last verifying key cannot be revoked: rotate first",
                           details={"key_id": key_id})
        self.save(partner_id, remaining)
        return remaining


store = KeyStore()


def active(keys: list[PartnerKey], kind: str, now: datetime) -> list[str]:
    """Values of the active keys of one kind."""
    return [k.value for k in keys if k.kind == kind and k.active(now)]


class SignatureRejected(DomainError):
    """The request is not a partner's authentic, fresh webhook (HTTP 401)."""

    code = "invalid_signature"
    http_status = 401


def verify_signed(partner_id: str, headers: dict[str, str], raw: bytes, now: datetime) -> signing.WebhookHeaders:
    """The verified webhook headers, if ``partner_id`` signed exactly ``raw`` with one of its active keys.

    Several keys are active during a rotation; a key rotated by another instance is looked up once
    more before the signature is refused. Only the partner and the reason are logged, never the body.
    Raises :class:`SignatureRejected`."""
    def check(force: bool) -> signing.WebhookHeaders:
        bundle = store.load(partner_id, force=force)
        return signing.verify(headers, raw, now=now.timestamp(),
                              hmac_secrets=active(bundle, "hmac", now),
                              public_keys=active(bundle, "ed25519_public", now))
    try:
        try:
            return check(False)
        except signing.SignatureError as exc:
            if exc.reason != "no_matching_signature" or not store.may_refresh(partner_id):
                raise
            return check(True)  # a key rotated by another instance: look once more
    except signing.SignatureError as exc:
        logger.info("webhook signature rejected", extra={"partner": partner_id, "reason": exc.reason})
        raise SignatureRejected("the webhook signature could not be verified", details={"reason": exc.reason}) from None
    except NotFound:
        raise SignatureRejected("the partner has no keys") from None
