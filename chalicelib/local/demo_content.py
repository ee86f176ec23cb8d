"""What demo tickets say: a request, facts, a category and a respondent that belong together.

Written for the demo city by hand (no real citizen's message is used): for each department a few
categories, each with facts told the way callers tell them, the requests such callers make, and the
kind of business they complain about. Slots ({shop}, {place}, {amount}...) are filled at random, so
1,500 demo tickets read like a hotline's day rather than one sentence repeated.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from chalicelib.local.seed import load_districts

COMPLAINT, REPORT, INQUIRY, SUGGESTION, HELP = "complaint", "report", "inquiry", "suggestion", "help_request"
C, R, I, S, H = COMPLAINT, REPORT, INQUIRY, SUGGESTION, HELP
BRANDS = "华润天益金达恒泰新宇佳和永盛福源鑫隆兴旺汇丰康达美好乐购万家惠民"
COMMUNITIES = ["桂花苑", "锦绣新村", "东港花园", "翰林府", "滨湖湾", "枫桥人家", "金色家园", "阳光城", "青枫苑", "水岸华庭",
               "彩香一村", "星海花园", "蠡湖新村", "御景园"]
ROADS = ["人民路", "干将路", "观前街", "十全街", "金鸡湖大道", "星湖街", "东吴北路", "长江路", "中山路", "太湖大道",
         "苏州大道", "狮山路", "何山路", "宝带西路"]
GOODS = ["电饭煲", "空调", "冰箱", "洗衣机", "手机", "笔记本电脑", "电动自行车", "热水器", "扫地机器人", "床垫"]


@dataclass(frozen=True)
class Case:
    """One way a matter is told: the kinds it comes as, the facts, and the requests that fit them."""

    kinds: tuple[str, ...]
    facts: str
    requests: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    """One kind of matter a department handles: its category, whom it is about (respondent business
    types; none for a street or a neighbour) and the cases callers bring."""

    department: str
    category: str
    respondents: tuple[str, ...]
    cases: tuple[Case, ...]


SCENARIOS: tuple[Scenario, ...] = (
    # 市场监督管理局
    Scenario("MARKET", "商品质量", ("电器商场", "家电专卖店", "数码城"), (
        Case((C,), "{date}在{shop}购买的{goods}使用不到一周就出现故障，联系商家要求退货被拒，只同意维修。",
             ("要求商家退货退款", "请求市场监管部门组织调解")),
        Case((C,), "在{shop}买的{goods}，收到后发现外包装破损、机身有划痕，商家称签收后概不负责。",
             ("要求商家更换新品", "要求商家退货退款")),
        Case((C,), "{date}购买的{goods}三包期内第三次出现同一故障，商家仍只肯修理，不给更换。",
             ("要求按三包规定更换新品", "要求商家赔偿损失并赔礼道歉")))),
    Scenario("MARKET", "食品安全", ("超市", "便利店", "餐饮店", "烘焙坊"), (
        Case((C, R), "{date}在{shop}买的牛奶已经过了保质期，货架上同批次还有十几盒在售。",
             ("要求下架过期食品并依法处理", "要求按食品安全法十倍赔偿")),
        Case((C,), "在{shop}就餐后，一家三口当晚都出现腹泻呕吐，怀疑饭菜不新鲜。",
             ("要求退还餐费并承担医药费", "请监管部门抽检食材并依法处理")),
        Case((R,), "{shop}后厨卫生很差，有顾客拍到老鼠在操作间出没，店家还在照常营业。",
             ("请监管部门到现场检查后厨卫生", "要求依法查处")))),
    Scenario("MARKET", "预付卡", ("健身房", "美容美发店", "教育培训中心", "洗车店"), (
        Case((C,), "在{shop}办了{amount}元的预付卡，还剩二十多次没用，门店突然关门，老板联系不上。",
             ("要求退还预付卡余额", "请求有关部门督促商家退款")),
        Case((C,), "{shop}办卡时承诺随时可退，现在要求退卡，商家以各种理由拖延，只肯退一半。",
             ("要求按约定全额退还余额", "请求市场监管部门组织调解")),
        Case((C,), "{shop}更换经营者后不认原来的会员卡，卡内余额{amount}元无法使用。",
             ("要求新经营者继续履行服务或退费",)))),
    Scenario("MARKET", "价格", ("超市", "加油站", "停车场", "餐饮店"), (
        Case((C,), "{shop}商品标价与结账价格不一致，标价{amount}元的商品结账时多收了二十元。",
             ("要求退还多收的费用",)),
        Case((C, R), "{shop}节假日期间临时涨价，未明码标价，结账时才告知加收服务费。",
             ("要求依法查处价格违法行为", "要求退还加收的服务费")),
        Case((R,), "{shop}宣称原价{amount}元现打五折，实际此前从未按原价销售过，属于虚构原价。",
             ("要求依法查处虚构原价行为",)))),
    Scenario("MARKET", "特种设备（电梯）", ("物业服务有限公司",), (
        Case((C, H), "{community}小区{building}号楼电梯最近一个月坏了四次，昨天还有人被困在里面半个小时。",
             ("请特种设备监管部门检查电梯安全", "请尽快派人维修，老人上下楼困难")),
        Case((R,), "{community}小区电梯年检合格证已过期，物业一直没有安排检验。",
             ("请监管部门督促物业安排年检", "要求物业公开电梯维保记录")))),
    Scenario("MARKET", "网络交易", ("网络科技有限公司", "电子商务有限公司"), (
        Case((C,), "在网上店铺购买的{goods}与页面描述严重不符，申请退货后商家一直不处理。",
             ("要求商家履行七日无理由退货", "请协调平台和商家处理退款")),
        Case((C,), "直播间购买的{goods}收到后发现是翻新机，商家拒绝退货。",
             ("要求退一赔三", "要求商家退货退款")))),
    # 住房和城乡建设局
    Scenario("HOUSING", "物业服务", ("物业服务有限公司",), (
        Case((C,), "{community}小区物业费每年上涨，但小区垃圾长期堆放、绿化无人养护，业主多次反映无果。",
             ("要求物业履行服务合同", "请住建部门督促物业整改")),
        Case((C, R), "{community}小区物业擅自把公共绿地改成收费停车位，收益去向不公开。",
             ("要求物业恢复公共绿地并公示停车收益",)),
        Case((C,), "{community}小区地下车库漏水一个多月，物业一直说等维修基金，没有任何处理。",
             ("要求物业尽快维修地下车库", "请住建部门督促物业整改")),
        Case((S,), "{community}小区物业服务质量参差不齐，业主对物业的评价渠道很少。",
             ("建议建立物业服务质量评价和公示制度",)))),
    Scenario("HOUSING", "商品房交付", ("置业有限公司", "房地产开发有限公司"), (
        Case((C,), "购买的{community}楼盘合同约定{date}交房，现已逾期半年仍未交付，开发商不给说法。",
             ("要求开发商按合同支付逾期交房违约金", "请住建部门介入协调")),
        Case((C,), "{community}新房交付后发现墙体开裂、卫生间渗水，开发商维修拖延。",
             ("要求开发商限期维修房屋质量问题",)))),
    Scenario("HOUSING", "房产中介", ("房产经纪有限公司", "房屋中介"), (
        Case((C,), "通过{shop}租房，交了{amount}元押金，退租时中介以各种理由扣押金不退。",
             ("要求中介退还押金",)),
        Case((C, R), "{shop}隐瞒房屋抵押情况促成交易，现在过户办不下来，中介费也不退。",
             ("要求退还中介费并赔偿损失", "请主管部门查处中介违规行为")))),
    # 城市管理局
    Scenario("URBAN", "占道经营", (), (
        Case((R, C), "{road}与{road2}交叉口每天晚上有十几个流动摊贩占道经营，油烟大、垃圾多，行人只能走机动车道。",
             ("请城管部门加强巡查整治", "请依法处理占道经营")),
        Case((S,), "{community}小区门口早市摊位占满人行道，早高峰电动车和行人挤在一起很危险。",
             ("建议规范设置便民摊点，不要占用人行道",)))),
    Scenario("URBAN", "违法建设", (), (
        Case((R,), "{community}小区{building}号楼顶楼住户在楼顶私自搭建彩钢房，已经施工三天。",
             ("请城管部门尽快到现场制止施工", "请依法拆除违法建筑")),
        Case((R,), "{community}小区一楼住户把院子围起来加盖房屋，占用了公共通道。",
             ("请依法拆除违法建筑并恢复公共通道",)))),
    Scenario("URBAN", "夜间施工噪音", ("建设工程有限公司", "建筑工程公司"), (
        Case((C, R), "{road}旁{shop}承建的工地每天晚上十一点以后还在施工，打桩声很大，附近居民无法休息。",
             ("请核查是否办理夜间施工许可并依法处理", "要求工地夜间停止高噪声作业")),
        Case((C,), "{community}小区旁边{shop}的工地凌晨两三点还有渣土车进出，噪声扰民严重。",
             ("要求工地夜间停止渣土运输",)))),
    Scenario("URBAN", "生活垃圾清运", (), (
        Case((C, H), "{community}小区垃圾分类投放点已经三天没有清运，天气热气味很大。",
             ("请尽快安排清运", "请督促环卫单位落实清运责任")),
        Case((S,), "{road}沿线的垃圾桶长期满溢，环卫清运不及时。",
             ("建议增加清运频次和垃圾桶数量",)))),
    # 交通运输局
    Scenario("TRANSPORT", "出租车和网约车", ("出租汽车有限公司", "网约车平台"), (
        Case((C,), "{date}晚上在{road}打车，{shop}的出租车司机拒绝打表，一口价要{amount}元。",
             ("要求退还多收的车费并处理司机", "请交通运输部门依法查处")),
        Case((C,), "乘坐{shop}的网约车时司机故意绕路，比导航多走了八公里，平台申诉后不予处理。",
             ("要求平台退还多收车费并给予答复",)))),
    Scenario("TRANSPORT", "公交线路", (), (
        Case((S,), "{community}小区附近没有公交站点，居民到最近的站要走二十分钟。",
             ("建议增设公交站点或调整线路",)),
        Case((C, S), "{road}公交站早高峰车辆间隔太长，经常等半小时以上。",
             ("建议早高峰加密班次",)),
        Case((I,), "{community}小区附近的公交站最近停用了，想了解原因。",
             ("咨询附近公交线路是否有调整计划",)))),
    # 生态环境局
    Scenario("ECOLOGY", "餐饮油烟", ("餐饮店", "烧烤店", "火锅店"), (
        Case((C, R), "楼下{shop}油烟直排，没有安装净化设备，家里窗户都不敢开。",
             ("要求安装油烟净化设施并达标排放", "请环保部门检测并依法处理")),
        Case((C,), "{road}一排烧烤店油烟很大，其中{shop}最严重，晚上整条街都是烟味。",
             ("请环保部门检测并依法处理",)))),
    Scenario("ECOLOGY", "工业废气", ("化工有限公司", "喷涂加工厂", "塑料制品厂"), (
        Case((R,), "{place}附近的{shop}晚上偷排废气，有刺鼻的化学气味，周边居民喉咙不舒服。",
             ("请生态环境部门夜间突击检查", "要求企业停产整改并公开检测结果")),
        Case((C, R), "{place}的{shop}每天傍晚排放油漆味废气，小区里气味很重。",
             ("请生态环境部门检测并依法处理",)))),
    # 人力资源和社会保障局
    Scenario("HRSS", "拖欠工资", ("劳务派遣有限公司", "建设工程有限公司", "餐饮管理有限公司"), (
        Case((C, H), "在{shop}工作了五个月，公司拖欠三个月工资共{amount}元，老板一直推说资金周转不开。",
             ("要求用人单位支付拖欠的工资", "请劳动监察部门帮助追讨工资")),
        Case((H,), "{shop}承包的工地上二十多名工人被拖欠工资，包工头已经联系不上。",
             ("请求帮助农民工讨薪",)))),
    Scenario("HRSS", "社会保险", ("科技有限公司", "商贸有限公司"), (
        Case((C,), "入职{shop}一年多，公司一直没有给缴纳社会保险。",
             ("要求单位依法补缴社会保险",)),
        Case((I,), "想了解灵活就业人员如何在本市缴纳养老保险，断缴之后能不能补缴。",
             ("咨询灵活就业人员参保办理流程", "咨询社保断缴后如何补缴")))),
    # 公安局
    Scenario("POLICE", "噪音扰民", ("酒吧", "KTV"), (
        Case((C,), "{community}小区{building}号楼楼上住户每天深夜跳绳、拖拽家具，沟通多次无效。",
             ("请派出所上门调解",)),
        Case((C, R), "{road}的{shop}每晚营业到凌晨，音响声音很大，附近居民无法入睡。",
             ("请依法处理噪音扰民行为",)))),
    Scenario("POLICE", "户籍和证件", (), (
        Case((I,), "孩子今年上小学，想咨询在本市办理居住证需要哪些材料。",
             ("咨询居住证办理所需材料",)),
        Case((I,), "身份证丢失，想了解异地补办身份证的流程和办理时间。",
             ("咨询身份证异地补办流程",)),
        Case((I,), "孩子上个月出生，想了解新生儿落户需要带哪些证件。",
             ("咨询新生儿落户办理手续",)))),
    # 教育局
    Scenario("EDUCATION", "校外培训", ("教育培训中心", "艺术培训学校"), (
        Case((C,), "在{shop}报了一年的课程，缴费{amount}元，机构突然停课，要求退费一直拖延。",
             ("要求培训机构退还剩余课时费用", "请教育部门督促机构退费")),
        Case((C, R), "{shop}在学校门口发传单招生，宣称保证提分，上课后发现老师频繁更换。",
             ("请教育部门规范培训机构招生宣传",)))),
    Scenario("EDUCATION", "招生入学", (), (
        Case((I,), "孩子今年升初中，户籍在{district}，想了解学区划分和报名时间。",
             ("咨询今年学区划分和报名时间",)),
        Case((S,), "新建小区{community}没有划入对口学校学区，孩子入学不方便。",
             ("建议尽快明确新建小区的对口学校",)))),
    # 卫生健康委员会
    Scenario("HEALTH", "医疗服务", ("医院", "社区卫生服务中心", "口腔诊所"), (
        Case((C,), "{date}在{shop}就诊，挂号后等了三个小时才看上，医生问诊不到两分钟就开了一堆检查。",
             ("请卫健部门核查医疗服务问题",)),
        Case((C,), "{shop}收费明细中有没有做过的检查项目，医院解释不清。",
             ("要求医院核实收费并退还多收费用",)))),
    # 水务局、供电、燃气
    Scenario("WATER", "停水和水压", ("自来水有限公司",), (
        Case((H, C), "{community}小区从今天早上开始停水，没有提前通知，家里有老人孩子很不方便。",
             ("请尽快恢复供水并告知停水原因",)),
        Case((C,), "{community}小区高层住户水压一直很低，晚上用水高峰基本没水。",
             ("请供水单位检修增压设备",)))),
    Scenario("WATER", "道路积水", (), (
        Case((H, R), "{road}下雨后积水没过小腿，车辆熄火，排水口好像堵了。",
             ("请尽快疏通排水管道",)),
        Case((H, R), "{community}小区门口雨水井盖缺失，积水后看不见，已经有人摔倒。",
             ("请立即补装井盖，消除安全隐患",)))),
    Scenario("POWER", "停电", ("供电服务中心",), (
        Case((H, C), "{community}小区{building}号楼从昨晚停电到现在，冰箱里的东西都坏了，抢修没有给出恢复时间。",
             ("请尽快恢复供电并说明原因",)),
        Case((C,), "{community}小区这个月已经停电三次，每次都没有提前通知。",
             ("要求计划停电提前通知居民",)))),
    Scenario("GAS", "燃气安全", ("餐饮店",), (
        Case((H,), "{community}小区{building}号楼楼道里闻到明显的燃气味，怀疑有管道泄漏。",
             ("请燃气公司立即派人排查",)),
        Case((R,), "{shop}后厨使用的液化气瓶没有检验标识，堆放在门口。",
             ("请依法检查液化气使用安全",)))),
    # 其他
    Scenario("TELECOM", "骚扰电话和扣费", ("通信分公司",), (
        Case((C,), "最近一个月每天接到五六个推销贷款和装修的骚扰电话，拉黑后换号码继续打。",
             ("请通信管理部门查处骚扰电话",)),
        Case((C,), "手机号码被{shop}办理了不知情的增值业务，每月多扣费用。",
             ("要求运营商退还不知情扣费",)))),
    Scenario("CULTOUR", "旅游服务", ("旅行社", "民宿"), (
        Case((C,), "参加{shop}组织的一日游，导游强制带到购物店，不购物就冷嘲热讽。",
             ("要求旅行社退还部分团费并处理导游",)),
        Case((C,), "在{shop}预订的房间与网上图片严重不符，要求退订被拒。",
             ("要求退还房费",)))),
    Scenario("CIVIL", "养老服务", ("养老院", "护理院"), (
        Case((I,), "父亲八十五岁独居，想咨询{district}有哪些居家养老上门服务。",
             ("咨询居家养老服务的申请条件",)),
        Case((C, H), "母亲住在{shop}，最近发现护理人员照顾不到位，老人身上有压疮。",
             ("请民政部门核查养老机构护理质量",)))),
    Scenario("MEDINS", "医保报销", (), (
        Case((I,), "在外地住院花费{amount}元，想咨询异地就医备案后怎么报销。",
             ("咨询异地就医报销流程",)),
        Case((I,), "家里老人有高血压和糖尿病，想了解门诊慢特病认定需要哪些材料、在哪里办理。",
             ("咨询门诊慢特病认定办理材料",)))),
    Scenario("FIRE", "消防安全", ("物业服务有限公司",), (
        Case((R, C), "{community}小区消防通道长期被私家车占用，{shop}不管，真有火灾消防车进不来。",
             ("请消防部门检查并督促物业清理消防通道",)),
        Case((R,), "{community}小区{building}号楼有人在楼道里给电动自行车充电，电线从窗户拉出来。",
             ("请依法处理楼道违规充电",)))),
)

KIND_WEIGHTS = {COMPLAINT: 55, REPORT: 15, INQUIRY: 15, SUGGESTION: 5, HELP: 10}
RESPONDENT_KINDS = frozenset({COMPLAINT, REPORT})  # the kinds that name whom they are about (Art. 10)


@dataclass(frozen=True)
class DemoContent:
    """One demo ticket's content: what registration needs besides the complainant."""

    kind: str
    department: str
    category: str
    facts: str
    request: str
    respondent: dict[str, str] | None
    district: str | None


def district_names() -> dict[str, str]:
    """District code -> name, from the demo taxonomy."""
    return {row["code"]: row["name"] for row in load_districts()}


def compose(rng: random.Random, districts: dict[str, str] | None = None) -> DemoContent:
    """A coherent random ticket content: kind, then a scenario of that kind, its slots filled."""
    districts = districts or district_names()
    kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
    scenario, case = rng.choice([(sc, ca) for sc in SCENARIOS for ca in sc.cases if kind in ca.kinds])
    code = rng.choice(sorted(districts))
    district_name = districts[code].split("（")[0].removeprefix("苏州")  # 苏州工业园区 -> 工业园区
    road, road2 = rng.sample(ROADS, 2)
    business = rng.choice(scenario.respondents) if scenario.respondents else ""
    shop = f"{district_name.rstrip('区市')}{rng.choice(BRANDS)}{rng.choice(BRANDS)}{business}" if business else ""
    community = rng.choice(COMMUNITIES)
    slots = {
        "shop": shop or f"{road}一家商户", "goods": rng.choice(GOODS), "community": community,
        "building": str(rng.randint(1, 36)), "road": road, "road2": road2,
        "amount": str(rng.choice((168, 299, 680, 1280, 2600, 3980, 5800, 8800, 12000))),
        "date": f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日", "place": f"{district_name}{road}",
        "district": district_name,
    }
    template = case.facts
    facts = template.format(**slots)
    request = rng.choice(case.requests)
    address = f"苏州市{district_name}{road}{rng.randint(1, 400)}号"
    respondent: dict[str, str] | None
    if "{shop}" in template and shop:
        respondent = {"name": shop, "address": address}
    elif kind not in RESPONDENT_KINDS:
        respondent = None  # an inquiry, suggestion or help request about no one in particular
    elif "{community}" in template:  # a neighbour, a building: the place it happens
        respondent = {"name": f"{district_name}{community}小区", "address": f"苏州市{district_name}{community}小区"}
    else:
        respondent = {"name": f"{district_name}{road}沿线", "address": address}
    return DemoContent(kind=kind, department=scenario.department, category=scenario.category,
                       facts=facts, request=request, respondent=respondent, district=code)


# What departments write back: progress notes, closure facts per result, the reply to the citizen.
NOTES = ("已电话联系诉求人，了解具体情况和诉求。", "已联系被反映方，约定本周内到现场核实。",
         "已到现场查看，反映情况基本属实，正在协调处理。", "已调取相关票据和记录，正在核实。",
         "已约双方到所里面对面协商，等待对方答复。")
CLOSURE_FACTS = {
    "settled": ("经调解，双方达成一致，商家同意退款并当场支付。", "经组织双方协商，商家同意更换商品并补偿交通费用。",
                "经调解，被投诉方同意按约定继续履行服务，诉求人表示认可。"),
    "not_settled": ("经组织调解，双方对赔偿金额分歧较大，未能达成一致，已告知诉求人可通过诉讼途径解决。",
                    "被投诉方拒绝调解方案，调解不成，已告知诉求人其他救济途径。"),
    "case_filed": ("经现场检查，发现违法事实，已依法立案调查。", "经核查举报属实，已责令整改并立案查处。"),
    "handled": ("已按诉求人咨询事项逐项答复，并告知办理地点和所需材料。", "已现场处置完毕，相关问题已解决。",
                "已将建议转交主管科室研究，并向诉求人说明采纳情况。", "已协调相关单位处理，并电话告知诉求人处理结果。"),
}
REPLIES = ("您好，您反映的问题已由承办部门处理完毕，处理结果已电话告知，感谢您的监督。",
           "您好，经承办部门核实处理，您的诉求已办结，如有疑问可再次来电。",
           "您好，您反映的情况已转交相关部门处理，处理结果如上，感谢您对我们工作的支持。")
