"""Helpers shared by the partner integration tests (fixtures are in conftest.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.calendar import TZ

UPPER = "province-12315"
UPPER_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class FakeClock:
    """services.clock.now, moved by hand."""

    current: datetime = field(default_factory=lambda: datetime.now(TZ).replace(microsecond=0))

    def now(self) -> datetime:
        return self.current

    def timestamp(self) -> float:
        return self.current.timestamp()

    def advance(self, **kw: Any) -> datetime:
        self.current += timedelta(**kw)
        return self.current


def poster(api: Any):
    def post(path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        answer = api.request("POST", path, body=body, headers=headers)
        return answer.status, answer.json

    return post


def new_receiver(receivers: list[Any], secret: str, clock: FakeClock | None = None) -> Any:
    from chalicelib.integration.simulator import WebhookReceiver

    receiver = WebhookReceiver(secrets=[secret], **({"clock": clock.timestamp} if clock else {}))
    receivers.append(receiver)
    return receiver


def set_endpoints(api: Any, partner_id: str, urls: list[str]) -> Any:
    answer = api.request("PATCH", f"/partners/{partner_id}", json_body={"endpoints": [{"url": u} for u in urls]},
                         user="admin")
    assert answer.status == 200, answer.body
    return answer.json


def create_partner(api: Any, partner_id: str, kind: str, urls: list[str] | None = None,
                   secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": partner_id, "name": f"测试平台 {partner_id}", "kind": kind,
                            "endpoints": [{"url": u} for u in urls or []]}
    if secret:
        body["secret"] = secret
    answer = api.post("/partners", json=body, user="admin")
    assert answer.status == 201, answer.body
    return answer.json


ASSIGNMENT = {
    "kind": "complaint",
    "complainant": {"name": "周晓梅", "phone": "13912345678", "address": "苏州市姑苏区干将西路88号"},
    "respondent": {"name": "苏州某某家电有限公司", "address": "苏州市姑苏区石路12号"},
    "request": "要求更换或退款",
    "facts": "在该公司购买的空调安装后不制冷，多次联系售后未果。",
    "category": "家用电器",
    "district": "GUSU",
}


def assignment(external_id: str, phone: str = "13912345678", **changes: Any) -> dict[str, Any]:
    ticket = {**ASSIGNMENT, "complainant": {**ASSIGNMENT["complainant"], "phone": phone}, **changes}
    return {"external_id": external_id, "ticket": ticket}


MAPPING_DOC = "docs/integration-mapping.md"


def doc_table(heading: str) -> list[list[str]]:
    """The rows (header first, rule left out) of the first table under ``### <heading>`` in the
    integration mapping document."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / MAPPING_DOC).read_text(encoding="utf-8")
    rows: list[list[str]] = []
    for line in text.split(f"### {heading}", 1)[1].splitlines()[1:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[:1] + rows[2:]
