"""Demo data for the local runtime: the demo city's departments and districts and one user per role.

Departments and districts come from ``data/taxonomy`` (the Suzhou demo taxonomy copied into the
project). Users are named after their role (``agent``, ``dispatcher``, ``handler`` in MARKET,
``dept_lead`` in MARKET, ``manager``, ``admin``) plus ``handler-<code>`` for every other department and
every grassroots office.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from chalicelib.store import directory

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "taxonomy"
HOME_DEPARTMENT = "MARKET"


def load_departments(data_dir: Path = DATA_DIR) -> list[dict[str, Any]]:
    """Departments with their duty lists (权责清单)."""
    with open(data_dir / "departments.csv", encoding="utf-8") as f:
        return [{"code": row["code"], "name": row["name"],
                 "duties": [d for d in row["duties"].split("、") if d], "active": True}
                for row in csv.DictReader(f)]


def load_districts(data_dir: Path = DATA_DIR) -> list[dict[str, Any]]:
    """Districts of the demo city."""
    with open(data_dir / "districts.csv", encoding="utf-8") as f:
        return [{"code": row["code"], "name": row["name"], "kind": row["kind"]} for row in csv.DictReader(f)]


def demo_users(departments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One user per role, plus a handler for every other department."""
    users = [
        {"username": "agent", "role": "agent", "name": "座席员 王芳"},
        {"username": "dispatcher", "role": "dispatcher", "name": "派单员 李强"},
        {"username": "handler", "role": "handler", "department": HOME_DEPARTMENT, "name": "市场监管局 处理人 张伟"},
        {"username": "dept_lead", "role": "dept_lead", "department": HOME_DEPARTMENT, "name": "市场监管局 负责人 陈静"},
        {"username": "manager", "role": "manager", "name": "管理中心 主任 刘洋"},
        {"username": "admin", "role": "admin", "name": "系统管理员"},
    ]
    for dept in departments:
        if dept["code"] != HOME_DEPARTMENT:
            users.append({"username": f"handler-{dept['code'].lower()}", "role": "handler",
                          "department": dept["code"], "name": f"{dept['name']} 处理人"})
    for user in users:
        user["active"] = True
    return users


REPLY_TEMPLATES = [
    {"id": "mediation-settled", "title": "调解成功答复", "use": "reply", "kind": "complaint",
     "text": "您好！您反映的消费纠纷，经我局调解，双方已达成一致意见：{结果}。感谢您对市场监管工作的支持。"},
    {"id": "mediation-failed", "title": "调解不成答复", "use": "reply", "kind": "complaint",
     "text": "您好！您反映的问题经我局组织调解，双方未能达成一致。您可依法通过仲裁或向人民法院起诉解决。"},
    {"id": "inquiry-answer", "title": "咨询答复", "use": "reply", "kind": "inquiry",
     "text": "您好！关于您咨询的问题，答复如下：{答复内容}。如有疑问，可拨打12345热线。"},
    {"id": "callback-opening", "title": "回访开场白", "use": "callback", "kind": None,
     "text": "您好，这里是12345热线回访，您于{日期}反映的问题已办理完毕，请问您对办理结果是否满意？问题是否已解决？"},
    {"id": "decline-not-duty", "title": "不予受理（非本部门职责）", "use": "decline", "kind": None,
     "text": "您好！您反映的问题不属于本平台受理范围，建议您向{部门}反映。"},
]


#: Grassroots offices (基层所) of the demo: market-regulation offices under MARKET, with their handlers.
DEMO_OFFICES = [
    {"code": "MARKET-GUSU", "name": "姑苏市场监督管理所", "department": HOME_DEPARTMENT, "district": "GUSU",
     "duties": ["辖区消费纠纷调解", "辖区食品经营检查", "辖区无照经营查处"]},
    {"code": "MARKET-WUZHONG", "name": "吴中市场监督管理所", "department": HOME_DEPARTMENT, "district": "WUZHONG",
     "duties": ["辖区消费纠纷调解", "辖区食品经营检查"]},
]
SEED_ACTOR = "seed"


def seed_reference_data(data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Write departments, districts, grassroots offices and demo users through the same service
    functions the admin API uses (idempotent: entries are replaced)."""
    from chalicelib.services import reference

    departments = load_departments(data_dir)
    districts = load_districts(data_dir)
    users = demo_users(departments)
    for dept in departments:
        reference.save_department(dept["code"], dept, actor=SEED_ACTOR, expected_version=None)
    for district in districts:
        reference.save_district(district["code"], district, actor=SEED_ACTOR, expected_version=None)
    for office in DEMO_OFFICES:
        reference.save_office(office["code"], office, actor=SEED_ACTOR, expected_version=None)
        users.append({"username": f"handler-{office['code'].lower()}", "role": "handler",
                      "department": office["code"], "name": f"{office['name']} 处理人", "active": True})
    for user in users:
        directory.put_entry(directory.USERS, user["username"], user)
    for template in REPLY_TEMPLATES:
        directory.put_entry(directory.TEMPLATES, template["id"], {**template, "active": True, "category": None})
    partners = seed_partners()
    return {"departments": len(departments), "districts": len(districts), "offices": len(DEMO_OFFICES),
            "users": len(users), "partners": partners}


# The upper-level platform of the demo: the provincial 12315 platform. Its Standard Webhooks secret
# comes from PARTNER_PROVINCE_12315_SECRET (the simulator reads the same variable), defaulting to
# the Standard Webhooks specification's test secret so that a fresh checkout works as it is.
DEMO_UPPER_PARTNER = "province-12315"
DEMO_UPPER_SECRET_ENV = "PARTNER_PROVINCE_12315_SECRET"
DEMO_UPPER_SECRET_DEFAULT = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def seed_partners() -> int:
    """The demo partner ``province-12315`` (kind upper), its key in Secrets Manager (idempotent).

    Also call this after restoring a snapshot: snapshots hold the table, not Secrets Manager.
    """
    import os
    from datetime import datetime

    from chalicelib.domain.calendar import TZ
    from chalicelib.integration import keys, registry

    now = datetime.now(TZ)
    secret = os.environ.get(DEMO_UPPER_SECRET_ENV) or DEMO_UPPER_SECRET_DEFAULT
    key = keys.new_key("hmac", now, secret)
    keys.store.ensure(DEMO_UPPER_PARTNER, [key])
    existing = registry.find(DEMO_UPPER_PARTNER)
    entry = {k: v for k, v in (existing or {}).items() if k != "_version"}
    entry.update({
        "id": DEMO_UPPER_PARTNER, "name": "江苏省12315平台", "kind": "upper", "enabled": True,
        "endpoints": entry.get("endpoints", []), "keys": [key.meta()],
        "secret_name": keys.secret_name(DEMO_UPPER_PARTNER),
        "created_at": entry.get("created_at", now.isoformat()), "updated_at": now.isoformat(),
    })
    directory.put_entry(registry.PARTNERS, DEMO_UPPER_PARTNER, entry)
    registry.forget_cache()
    return 1
