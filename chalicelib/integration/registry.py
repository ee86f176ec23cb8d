"""The partner registry (合作平台): who may send us webhooks, and where we send ours.

A partner is one of five kinds:

| kind | 中文 | sends us | receives from us |
| --- | --- | --- | --- |
| ``upper`` | 上级平台 (national/provincial 12315) | assignments, urgings, recalls | acceptance, decline, return upward, progress, closure, evaluation, a resent snapshot (``ticket.synced``) |
| ``hotline_12345`` | 12345 热线 | the same (lands on channel hotline_12345; a case may come in the 12345 format), status queries | the same, with the 12345 status beside ours |
| ``lower`` | 下级平台 / 基层所 | progress and results on tickets we sent down | assignments, urgings, recalls, review results |
| ``data_center`` | 监管数据中心 | nothing | a record of every ticket change (``ticket.record``), the daily report |
| ``call_center`` | 呼叫中心 (CTI) | call records (``POST /cti/{partner}/calls``) | nothing |

Entries live in the directory partition ``PARTNER`` (one Query lists them, one GetItem reads
one); they hold the endpoints and the keys' metadata, never a key's value (that is in Secrets
Manager, :mod:`chalicelib.integration.keys`). Reads on the webhook path are cached for a few
seconds per process; every write here forgets the cache.
"""
from __future__ import annotations

import re
import secrets as _random
import threading
import time
from datetime import datetime
from typing import Any

from chalicelib.aws import client
from chalicelib.config import get_settings
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.integration import keys as partner_keys
from chalicelib.integration import data_centre, urlguard
from chalicelib.store import directory

PARTNERS = "PARTNER"
KINDS = ("upper", "lower", "hotline_12345", "data_center", "call_center")
KIND_LABELS = {"upper": "上级平台", "lower": "下级平台", "hotline_12345": "12345热线", "data_center": "监管数据中心",
               "call_center": "呼叫中心"}
ORIGIN_KINDS = frozenset({"upper", "hotline_12345"})  # tickets come from them; we report back up
INBOUND_TYPES: dict[str, frozenset[str]] = {
    "upper": frozenset({"ticket.assigned", "ticket.urged", "ticket.recalled"}),
    "hotline_12345": frozenset({"ticket.assigned", "ticket.urged", "ticket.recalled"}),
    "lower": frozenset({"ticket.updated", "ticket.closed"}),
    "data_center": frozenset(),
    "call_center": frozenset(),  # its call records come to POST /cti/{partner}/calls (api/calls.py)
}
OUTBOUND_TYPES: dict[str, frozenset[str]] = {
    "upper": frozenset({"ticket.accepted", "ticket.declined", "ticket.returned", "ticket.progress",
                        "ticket.closed", "ticket.evaluated", "ticket.synced"}),
    "hotline_12345": frozenset({"ticket.accepted", "ticket.declined", "ticket.returned", "ticket.progress",
                                "ticket.closed", "ticket.evaluated", "ticket.synced"}),
    "lower": frozenset({"ticket.assigned", "ticket.urged", "ticket.recalled", "ticket.reviewed"}),
    "data_center": frozenset({"report.daily", "ticket.record"}),
    "call_center": frozenset(),
}
PARTNER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{1,62}$")
MAX_ENDPOINTS = 5
CACHE_SECONDS = 10.0

_cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
_kind_cache: dict[str, tuple[float, Any, list[dict[str, Any]]]] = {}  # kind -> (when, client, enabled entries)
_cache_lock = threading.Lock()
_cache_owner: list[Any] = [None]  # the AWS client generation the cache belongs to (tests switch endpoints)


def check_partner_id(value: Any) -> str:
    if not isinstance(value, str) or not PARTNER_ID_RE.match(value):
        raise ValidationFailed("invalid partner id", details={"id": "2-63 lowercase letters, digits, _ . -"})
    return value


def forget_cache() -> None:
    """Forget every cached entry (seeding, tests)."""
    _forget(None)


def _forget(partner_id: str | None = None) -> None:
    with _cache_lock:
        _kind_cache.clear()
        if partner_id is None:
            _cache.clear()
        else:
            _cache.pop(partner_id, None)


def find(partner_id: str, *, cached: bool = False) -> dict[str, Any] | None:
    """The partner's entry, or None (``cached``: possibly a few seconds old, for the hot paths)."""
    if not PARTNER_ID_RE.match(partner_id or ""):
        return None
    now = time.monotonic()
    if cached:
        current = client("dynamodb")
        with _cache_lock:
            if _cache_owner[0] is not current:
                _cache.clear()
                _cache_owner[0] = current
            hit = _cache.get(partner_id)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    entry = directory.find_entry(PARTNERS, partner_id)
    with _cache_lock:
        _cache[partner_id] = (now, entry)
    return entry


def get(partner_id: str) -> dict[str, Any]:
    entry = find(partner_id)
    if entry is None:
        raise NotFound(f"partner {partner_id} not found")
    return entry


def list_all() -> list[dict[str, Any]]:
    """Every partner (one paginated Query)."""
    return directory.list_entries(PARTNERS)


def enabled_of_kind(kind: str) -> list[dict[str, Any]]:
    """The enabled partners of one kind (the outbox's hot path asks for every message: one Query,
    cached a few seconds per process like :func:`find`)."""
    current = client("dynamodb")
    now = time.monotonic()
    with _cache_lock:
        hit = _kind_cache.get(kind)
    if hit is not None and hit[1] is current and now - hit[0] < CACHE_SECONDS:
        return hit[2]
    entries = [e for e in list_all() if e.get("kind") == kind and e.get("enabled", True)]
    with _cache_lock:
        _kind_cache[kind] = (now, current, entries)
    return entries


def _endpoint(raw: Any, index: int, kind: str, existing: dict[str, dict[str, Any]]) -> dict[str, Any]:
    where = f"endpoints[{index}]"
    if not isinstance(raw, dict):
        raise ValidationFailed("invalid endpoint", details={where: "must be an object"})
    url = raw.get("url")
    try:
        urlguard.check_url(url, local_stage=get_settings().is_local)
    except urlguard.UnsafeUrl as exc:
        raise urlguard.UnsafeUrl(exc.message, details={f"{where}.url": exc.details.get("url", "not allowed")}) from None
    topics = raw.get("topics") or []
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ValidationFailed("invalid topics", details={f"{where}.topics": "a list of event types"})
    unknown = sorted(set(topics) - OUTBOUND_TYPES[kind])
    if unknown:
        raise ValidationFailed("this kind of partner does not receive these events",
                               details={f"{where}.topics": "not sent to a " + kind + ": " + ", ".join(unknown)})
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValidationFailed("invalid enabled", details={f"{where}.enabled": "true or false"})
    previous = existing.get(url)
    return {
        "id": previous["id"] if previous else "ep_" + _random.token_hex(4),
        "url": url, "topics": sorted(set(topics)), "enabled": enabled,
        "disabled_reason": None if enabled else (previous or {}).get("disabled_reason") or "admin",
        "disabled_at": None if enabled else (previous or {}).get("disabled_at"),
    }


def _endpoints(raw: Any, kind: str, existing: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_ENDPOINTS:
        raise ValidationFailed("invalid endpoints", details={"endpoints": f"a list of at most {MAX_ENDPOINTS}"})
    by_url = {e["url"]: e for e in existing or []}
    endpoints = [_endpoint(r, i, kind, by_url) for i, r in enumerate(raw)]
    urls = [e["url"] for e in endpoints]
    if len(set(urls)) != len(urls):
        raise ValidationFailed("an endpoint appears twice", details={"endpoints": "URLs must differ"})
    return endpoints


def _report_within(value: Any, kind: str) -> int:
    """A data centre's reporting limit in hours (:func:`data_centre.report_within_hours` applies it)."""
    if kind != "data_center":
        raise ValidationFailed("only a data centre has a reporting limit",
                               details={"report_within_hours": "for partners of kind data_center"})
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= data_centre.MAX_REPORT_WITHIN_HOURS:
        raise ValidationFailed("invalid reporting limit", details={
            "report_within_hours": f"whole hours from 1 to {data_centre.MAX_REPORT_WITHIN_HOURS}"})
    return value


def create(data: dict[str, Any], now: datetime) -> tuple[dict[str, Any], partner_keys.PartnerKey]:
    """Register a partner with its endpoints and a first key (given, or generated and shown once)."""
    partner_id = check_partner_id(data.get("id"))
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValidationFailed("invalid kind", details={"kind": "one of " + ", ".join(KINDS)})
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ValidationFailed("invalid name", details={"name": "required, at most 100 characters"})
    endpoints = _endpoints(data.get("endpoints"), kind)
    within = _report_within(data["report_within_hours"], kind) if "report_within_hours" in data else None
    key_kind = data.get("key_kind", "hmac")
    first = partner_keys.new_key(key_kind, now, data.get("secret"))
    if find(partner_id) is not None:
        raise Conflict(f"partner {partner_id} already exists")
    entry = {
        "id": partner_id, "name": name.strip(), "kind": kind, "enabled": data.get("enabled", True) is not False,
        "endpoints": endpoints, "keys": [first.meta()], "secret_name": partner_keys.secret_name(partner_id),
        "created_at": now.isoformat(), "updated_at": now.isoformat(),
    }
    if within is not None:
        entry["report_within_hours"] = within
    partner_keys.store.ensure(partner_id, [first])
    directory.put_entry(PARTNERS, partner_id, entry, expected_version=0)
    _forget(partner_id)
    return get(partner_id), first


def update(partner_id: str, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Change name, enabled, endpoints and/or a data centre's ``report_within_hours`` (optimistic: a
    concurrent change is a 409)."""
    entry = get(partner_id)
    version = int(entry.pop("_version"))
    if "name" in changes:
        name = changes["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise ValidationFailed("invalid name", details={"name": "at most 100 characters"})
        entry["name"] = name.strip()
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise ValidationFailed("invalid enabled", details={"enabled": "true or false"})
        entry["enabled"] = changes["enabled"]
    if "endpoints" in changes:
        entry["endpoints"] = _endpoints(changes["endpoints"], entry["kind"], entry.get("endpoints"))
    if "report_within_hours" in changes:
        entry["report_within_hours"] = _report_within(changes["report_within_hours"], entry["kind"])
    entry["updated_at"] = now.isoformat()
    directory.put_entry(PARTNERS, partner_id, entry, expected_version=version)
    _forget(partner_id)
    return get(partner_id)


def set_key_meta(partner_id: str, keys: list[partner_keys.PartnerKey], now: datetime) -> dict[str, Any]:
    """Record the keys' metadata (never their values) on the entry after a rotation."""
    entry = get(partner_id)
    version = int(entry.pop("_version"))
    entry["keys"] = [k.meta() for k in keys]
    entry["updated_at"] = now.isoformat()
    directory.put_entry(PARTNERS, partner_id, entry, expected_version=version)
    _forget(partner_id)
    return get(partner_id)


def disable_endpoint(partner_id: str, endpoint_id: str, reason: str, now: datetime) -> None:
    """Stop sending to one endpoint (the partner answered 410 Gone); an admin re-enables it."""
    for _ in range(3):  # a concurrent registry change: reload and retry
        entry = get(partner_id)
        version = int(entry.pop("_version"))
        changed = False
        for endpoint in entry.get("endpoints") or []:
            if endpoint["id"] == endpoint_id and endpoint.get("enabled", True):
                endpoint.update(enabled=False, disabled_reason=reason, disabled_at=now.isoformat())
                changed = True
        if not changed:
            return
        entry["updated_at"] = now.isoformat()
        try:
            directory.put_entry(PARTNERS, partner_id, entry, expected_version=version)
        except Conflict:
            continue
        _forget(partner_id)
        return


def endpoint(entry: dict[str, Any], endpoint_id: str) -> dict[str, Any] | None:
    return next((e for e in entry.get("endpoints") or [] if e["id"] == endpoint_id), None)


def receivers(entry: dict[str, Any], event_type: str) -> list[dict[str, Any]]:
    """The partner's endpoints an event of ``event_type`` goes to (enabled or not: a disabled one parks it)."""
    if event_type not in OUTBOUND_TYPES.get(entry.get("kind", ""), frozenset()):
        return []
    return [e for e in entry.get("endpoints") or [] if not e.get("topics") or event_type in e["topics"]]


def public_view(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as the admin API shows it."""
    data = {k: v for k, v in entry.items() if k != "_version"}
    data["version"] = entry.get("_version")
    data["kind_label"] = KIND_LABELS.get(entry.get("kind", ""), entry.get("kind"))
    if entry.get("kind") == "data_center":  # the limit in force (the default until an admin sets one)
        data["report_within_hours"] = data_centre.report_within_hours(entry)
        data["report_within_hours_max"] = data_centre.MAX_REPORT_WITHIN_HOURS  # the edit form's bound
    return data
