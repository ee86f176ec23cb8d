"""Helpers of the smart-dispatch integration tests (a module of its own: every conftest is "conftest")."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "dispatch"

# A confident one: a prepaid card of a gym that closed (市场监管), respondent in 吴中区.
CONFIDENT = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "王五", "phone": "13700005678", "address": "苏州市相城区元和街道1号"},
    "respondent": {"name": "某健身房", "address": "苏州市吴中区东吴北路1号"},
    "request": "要求退还预付卡余额",
    "facts": "健身房突然关门停业，办的预付卡里还有3000元余额无法退还，商家联系不上。",
}


def submission(phone_tail: str, **overrides: Any) -> dict[str, Any]:
    """The confident complaint from another citizen (repeat detection keys on the phone)."""
    body = {**CONFIDENT, "complainant": {**CONFIDENT["complainant"], "phone": "137" + phone_tail.rjust(8, "0")}}
    body.update(overrides)
    return body


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


TINY_LABELS = ("GAS", "POWER", "WATER")


def register(api: Any, body: dict[str, Any], user: str = "agent") -> dict[str, Any]:
    answer = api.post("/tickets", json=body, user=user)
    assert answer.status == 201, answer.body
    return answer.json["tickets"][0]


def act(api: Any, ticket_id: str, action: str, user: str, status: int = 200, **params: Any) -> dict[str, Any]:
    answer = api.post(f"/tickets/{ticket_id}/{action.replace('_', '-')}", json=params, user=user)
    assert answer.status == status, (action, answer.status, answer.body)
    return answer.json
