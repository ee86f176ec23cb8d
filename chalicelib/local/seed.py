"""Demo data for the local runtime: the demo city's departments and districts and one user per role.

Departments and districts come from ``data/taxonomy`` (the Suzhou demo taxonomy copied into the
project). Users are named after their role (``agent``, ``dispatcher``, ``handler`` in MARKET,
``dept_lead`` in MARKET, ``manager``, ``admin``) plus ``handler-<code>`` for every other department.
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


def seed_reference_data(data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Write departments, districts and demo users (idempotent: entries are replaced)."""
    departments = load_departments(data_dir)
    districts = load_districts(data_dir)
    users = demo_users(departments)
    for dept in departments:
        directory.put_entry(directory.DEPARTMENTS, dept["code"], dept)
    for district in districts:
        directory.put_entry(directory.DISTRICTS, district["code"], district)
    for user in users:
        directory.put_entry(directory.USERS, user["username"], user)
    for template in REPLY_TEMPLATES:
        directory.put_entry(directory.TEMPLATES, template["id"], {**template, "active": True, "category": None})
    return {"departments": len(departments), "districts": len(districts), "users": len(users)}
