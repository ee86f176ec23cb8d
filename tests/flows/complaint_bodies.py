"""The phone complaint the flow tests register (one body, shared by the flow modules)."""

PHONE_COMPLAINT = {
    "kind": "complaint",
    "channel": "phone",
    "complainant": {"name": "张三丰", "phone": "13812345678", "address": "苏州市姑苏区人民路100号"},
    "respondent": {"name": "苏州某某电器商店", "address": "苏州市姑苏区观前街1号"},
    "request": "要求退货退款",
    "facts": "11月1日在该店购买的电饭煲使用三天后无法加热，商家拒绝退货。",
    "category": "商品质量",
}
