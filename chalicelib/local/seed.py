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


def seed_reference_data(data_dir: Path = DATA_DIR, *, platforms: bool = False) -> dict[str, int]:
    """Write departments, districts, grassroots offices and demo users through the same service
    functions the admin API uses (idempotent: entries are replaced); with ``platforms`` (the local
    runtime), the demo's 12345 platform and data centre too (:func:`seed_platform_partners`)."""
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
    partners = seed_partners() + (seed_platform_partners() if platforms else 0)
    from chalicelib.services import categories

    written = categories.ensure_default(SEED_ACTOR)  # the default tree, as a fresh deployment gets it on first use
    return {"departments": len(departments), "districts": len(districts), "offices": len(DEMO_OFFICES),
            "users": len(users), "partners": partners, "categories": written}


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


#: The demo city's other partner platforms, shown on the 平台对接 page beside province-12315: the
#: city's 12345 platform and the data centre, registered switched off (``enabled`` false) with one
#: loopback endpoint each, so that nothing is sent until an admin points them at a real receiver
#: and enables them (a data centre switched on gets a record of every ticket change). Not in the
#: tests' seed: a partner there changes what every test's outbox sends and reconciles.
DEMO_PLATFORM_PARTNERS = (
    {"id": "suzhou-12345", "name": "苏州市12345政务服务便民热线平台", "kind": "hotline_12345",
     "url": "http://127.0.0.1:9/12345/webhooks"},
    {"id": "suzhou-data-centre", "name": "苏州市市场监管数据中心", "kind": "data_center",
     "url": "http://127.0.0.1:9/data-centre/webhooks"},
)


def seed_platform_partners() -> int:
    """Register :data:`DEMO_PLATFORM_PARTNERS` through the registry, as an admin would (an existing
    one is left as it is: an admin may have changed it). Returns how many were registered now."""
    from datetime import datetime

    from chalicelib.domain.calendar import TZ
    from chalicelib.integration import registry

    now = datetime.now(TZ)
    made = 0
    for partner in DEMO_PLATFORM_PARTNERS:
        if registry.find(partner["id"]) is not None:
            continue
        registry.create({"id": partner["id"], "name": partner["name"], "kind": partner["kind"], "enabled": False,
                         "endpoints": [{"url": partner["url"], "enabled": False}]}, now)
        made += 1
    registry.forget_cache()
    return made


#: Knowledge articles of the demo (知识库): policies, procedures, FAQ and duties an agent is offered
#: while registering a call. Written through the knowledge service (jieba loads once for them).
DEMO_ARTICLES = [
    {"id": "prepaid-card-refund", "kind": "policy", "title": "预付卡消费纠纷处理指引",
     "categories": ["预付卡"], "keywords": ["健身房", "美容美发", "办卡", "退卡", "跑路"],
     "templates": ["mediation-settled", "mediation-failed"], "departments": ["MARKET"],
     "body": "经营者以预付卡方式提供商品或者服务的，应当按照与消费者的约定提供。未按照约定提供的，应当按照消费者的要求"
             "履行约定或者退回预付款，并承担预付款的利息、消费者必须支付的合理费用（《消费者权益保护法》第五十三条）。\n"
             "登记要点：办卡时间与金额、卡内余额、经营者名称和地址、是否仍在营业；经营者已关门失联的，提示消费者保留"
             "合同、收据和聊天记录，涉嫌诈骗的建议同时向公安机关报案。"},
    {"id": "online-seven-day-return", "kind": "policy", "title": "网购七日无理由退货",
     "categories": ["网络交易"], "keywords": ["网购", "七天无理由", "退货", "电商平台"],
     "templates": ["mediation-settled"], "departments": ["MARKET"],
     "body": "经营者采用网络、电视、电话、邮购等方式销售商品，消费者有权自收到商品之日起七日内退货，且无需说明理由，"
             "但定作的、鲜活易腐的、在线下载或已拆封的音像制品和计算机软件等数字化商品、交付的报纸期刊除外"
             "（《消费者权益保护法》第二十五条）。退回商品的运费由消费者承担，另有约定的按照约定。\n"
             "登记要点：平台名称、订单号、签收日期、商家拒绝退货的理由。"},
    {"id": "complaint-acceptance", "kind": "procedure", "title": "投诉受理条件与不予受理情形",
     "categories": ["受理"], "keywords": ["受理", "不予受理", "管辖"],
     "templates": ["decline-not-duty"],
     "body": "投诉应当提供投诉人的姓名、电话号码、通讯地址，被投诉人的名称（姓名）、地址，具体的投诉请求以及消费者权益"
             "争议事实。市场监督管理部门应当自收到投诉之日起七个工作日内作出受理或者不予受理的决定。\n"
             "不予受理的情形：不属于市场监督管理部门职责；法院、仲裁机构、其他行政机关已经受理或者处理过；不是为生活消费"
             "需要购买、使用商品或者接受服务；知道或者应当知道权益受到侵害之日起超过三年；未提供身份证明或者提供虚假材料等。"},
    {"id": "food-safety-report", "kind": "procedure", "title": "食品安全举报登记与处置",
     "categories": ["食品安全"], "keywords": ["食物中毒", "过期食品", "变质", "餐馆", "外卖"],
     "departments": ["MARKET"],
     "body": "涉及食品安全的来电，先问清是否有人身体不适：出现群体性食物中毒或者身体严重不适的，立即标记为紧急并提示"
             "拨打120就医。登记经营者名称和地址、购买或就餐时间、食品名称和批次、现有票据和剩余样品。\n"
             "过期、变质食品按举报处理，由市场监督管理局在十五个工作日内核查处理（可延长十五个工作日）。"},
    {"id": "property-fee-faq", "kind": "faq", "title": "物业费收费标准与物业服务咨询",
     "categories": ["物业服务"], "keywords": ["物业费", "物业公司", "业委会", "停车费"],
     "templates": ["inquiry-answer"], "departments": ["HOUSING"],
     "body": "住宅前期物业服务收费实行政府指导价，其他物业服务收费实行市场调节价，由业主与物业服务企业在合同中约定。"
             "对物业服务质量、收费标准有异议的，可以向住房和城乡建设局反映；涉及明码标价、乱收费的，可以向市场监督管理局举报。"},
    {"id": "urban-management-duties", "kind": "duty", "title": "城市管理局职责范围",
     "categories": ["城市管理"], "keywords": ["占道经营", "违章建筑", "夜间施工", "噪音", "渣土"],
     "departments": ["URBAN"],
     "body": "城市管理局负责：占道经营和流动摊贩、违法建设、市容环境卫生、生活垃圾清运、户外广告和店招、夜间施工噪音执法、"
             "共享单车停放、绿化养护、路灯。社会生活噪音（如广场舞、装修）由公安机关处理，工业噪音由生态环境局处理。"},
]


def seed_knowledge() -> int:
    """Write the demo knowledge articles that are not there yet (through the knowledge service)."""
    from chalicelib.services import knowledge

    written = 0
    for article in DEMO_ARTICLES:
        if knowledge.store.get(article["id"]) is None:
            knowledge.save(article["id"], {k: v for k, v in article.items() if k != "id"}, actor=SEED_ACTOR,
                           expected_version=0)
            written += 1
    return written
