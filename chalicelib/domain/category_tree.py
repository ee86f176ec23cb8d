"""The default problem classification (诉求分类) of a 12345/12315 centre: 领域 → 事项 → 具体问题.

A fresh deployment and the demo city start from this tree (``services.categories.ensure_default``);
admins then change it through the directory like departments and districts. Codes are numbered
by position (``C02`` 市场监管, ``C0201`` 商品质量, ``C020101`` 家用电器) and never change: a ticket
keeps the code it was registered with, and a renamed or retired entry still names old tickets.

The 事项 names cover what the demo city's tickets say (``local/demo_content.py``), so a name used as
a legacy free-text category maps to exactly one entry (docs/decisions/0014-category-tree.md).
Pure data: no I/O.
"""
from __future__ import annotations

from typing import Any

#: (领域, ((事项, (具体问题, ...)), ...)), in the order they are numbered and shown.
DEFAULT_TREE: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = (
    ("城乡建设", (
        ("物业服务", ("物业收费", "公共区域维护", "公共收益分配")),
        ("商品房交付", ("逾期交房", "房屋质量问题", "配套设施不符约定")),
        ("房产中介", ("押金和中介费", "隐瞒房屋信息")),
        ("违法建设", ("违章搭建", "破坏房屋承重结构")),
        ("占道经营", ("流动摊贩", "店外经营")),
        ("生活垃圾清运", ("垃圾清运不及时", "垃圾分类设施")),
        ("夜间施工噪音", ("夜间违规施工", "建筑工地扬尘")),
    )),
    ("市场监管", (
        ("商品质量", ("家用电器", "数码产品", "服装鞋帽", "售后服务")),
        ("食品安全", ("过期变质食品", "食物中毒疑似", "经营场所卫生")),
        ("餐饮服务", ("餐饮收费", "餐饮服务质量")),
        ("预付卡", ("商家闭店跑路", "退卡退费纠纷")),
        ("价格", ("标价与结算不符", "未明码标价", "哄抬价格")),
        ("特种设备（电梯）", ("电梯故障困人", "电梯检验过期")),
        ("网络交易", ("七日无理由退货", "虚假宣传", "直播带货")),
        ("药品", ("药品质量", "医疗器械", "化妆品")),
    )),
    ("交通运输", (
        ("出租车和网约车", ("拒载绕路", "乱收费", "遗失物品")),
        ("公交线路", ("线路和班次调整", "司乘服务态度")),
        ("道路设施", ("路面破损", "交通信号和标志")),
    )),
    ("生态环境", (
        ("餐饮油烟", ("油烟直排", "油烟净化设施")),
        ("工业废气", ("异味废气", "夜间偷排")),
        ("水污染", ("河道污染", "污水直排")),
    )),
    ("劳动社保", (
        ("拖欠工资", ("农民工工资", "企业欠薪", "加班费")),
        ("社会保险", ("未缴社保", "社保转移接续", "失业保险待遇")),
        ("劳动合同", ("未签劳动合同", "违法解除合同")),
    )),
    ("教育", (
        ("校外培训", ("培训退费", "违规培训")),
        ("招生入学", ("入学政策", "学位分配")),
        ("学校管理", ("收费问题", "校园安全")),
    )),
    ("卫生健康", (
        ("医疗服务", ("就医服务态度", "医疗收费", "医疗纠纷")),
        ("医保报销", ("报销比例和范围", "异地就医结算")),
        ("养老服务", ("养老机构服务", "居家养老补贴")),
    )),
    ("公共安全", (
        ("噪音扰民", ("邻里噪音", "商业经营噪音")),
        ("户籍和证件", ("户口迁移", "身份证办理")),
        ("消防安全", ("消防通道堵塞", "消防设施损坏")),
        ("燃气安全", ("燃气泄漏", "燃气收费和服务")),
    )),
    ("公用事业", (
        ("停水和水压", ("计划停水", "水压不足", "水质问题")),
        ("道路积水", ("雨后积水", "排水设施堵塞")),
        ("停电", ("计划停电", "故障停电")),
        ("骚扰电话和扣费", ("骚扰电话", "不明扣费", "宽带服务")),
    )),
    ("文化旅游", (
        ("旅游服务", ("强制购物", "景区服务", "旅行社合同")),
        ("文化市场", ("演出票务", "网吧和娱乐场所")),
    )),
    ("综合", (
        ("政策咨询", ("政策解读", "办事指南")),
        ("意见建议", ("城市管理建议", "政务服务建议")),
    )),
)


def default_entries() -> list[dict[str, Any]]:
    """The default tree as directory entries (code, name, parent), parents before their children."""
    entries: list[dict[str, Any]] = []
    for i, (domain, items) in enumerate(DEFAULT_TREE, start=1):
        top = f"C{i:02d}"
        entries.append({"code": top, "name": domain, "parent": None})
        for j, (item, problems) in enumerate(items, start=1):
            middle = f"{top}{j:02d}"
            entries.append({"code": middle, "name": item, "parent": top})
            for k, problem in enumerate(problems, start=1):
                entries.append({"code": f"{middle}{k:02d}", "name": problem, "parent": middle})
    return entries
