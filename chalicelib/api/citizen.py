"""Errors as a citizen reads them: in Simplified Chinese, field by field.

The citizen routes (``/public/*``) answer the same envelope as every other route, with the same
``code`` and the same field paths in ``details`` (the portal's form marks the fields by them);
only the words change: the ``message`` and each field's explanation are in Chinese, written for a
member of the public rather than a developer.
"""
from __future__ import annotations

import re
from typing import Any

from chalicelib.domain.intake import INVALID_CHARACTER

MESSAGES: dict[str, str] = {
    "validation_failed": "提交的内容有误，请按提示修改后重试。",
    "not_found": "未找到对应的工单，请核对查询码和手机号后四位。",
    "duplicate": "您反映的问题已在办理中，请勿重复提交。",
    "illegal_transition": "工单当前的办理状态不允许此操作。",
    "conflict": "该操作已完成，无需重复提交。",
    "concurrent_modification": "工单刚刚发生了变化，请刷新后重试。",
    "rate_limited": "操作过于频繁，请稍后再试。",
    "payload_too_large": "提交的内容过长，请精简后重试。",
    "unsupported_media_type": "提交格式不正确。",
    "bad_request": "请求格式不正确。",
    "forbidden": "无权进行此操作。",
    "service_unavailable": "系统繁忙，请稍后再试。",
    "internal_error": "系统出现异常，请稍后再试。",
}
_DEFAULT_MESSAGE = "请求未能完成，请稍后再试。"

# Field explanations: exact texts first, then patterns (the domain's and the schema's wording).
_FIELD_TEXTS: dict[str, str] = {
    "required": "必填",
    "unknown field": "不支持该项",
    "must be a string": "应为文字",
    "must be an object": "格式不正确",
    "contains control characters": "含有不可见的控制字符",
    INVALID_CHARACTER: "含有无法识别的字符，请删除后重新输入",
    "must be a mainland mobile (11 digits) or a landline with area code": "请填写11位手机号或带区号的固定电话",
    "must be an 18-character resident ID number": "请填写18位居民身份证号码",
    "must be a district code": "区县代码格式不正确",
    "only for a complaint that is also a report": "仅在同时投诉和举报时填写",
    "each complainant must have a different phone": "每位投诉人的手机号应各不相同",
    "only a complaint that is also a report is split (Art. 9)": "只能同时选择投诉和举报",
    "not valid JSON": "提交格式不正确",
    "not valid UTF-8": "提交内容的编码不正确",
    "nested too deeply": "提交内容层级过深",
}
_FIELD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^at most (\d+) characters$"), "不能超过{0}个字"),
    (re.compile(r"^no district (.+)$"), "没有这个区县：{0}"),
    (re.compile(r"^required: one of (.+)$"), "必填，可选：{0}"),
    (re.compile(r"^unknown kind: (.+)$"), "不支持的诉求类型：{0}"),
    (re.compile(r"^must be one of (.+)$"), "可选：{0}"),
    (re.compile(r"must match pattern"), "格式不正确"),
    (re.compile(r"must be one of \[(.+)\]"), "可选：{0}"),
    (re.compile(r"must be (string|boolean|integer|number|object|array)"), "格式不正确"),
    (re.compile(r"must be longer than or equal to (\d+) characters"), "至少{0}个字"),
    (re.compile(r"must be shorter than or equal to (\d+) characters"), "不能超过{0}个字"),
    (re.compile(r"^line (\d+), column (\d+)"), "提交格式不正确（第{0}行第{1}列）"),
)
_DEFAULT_FIELD_TEXT = "填写不正确"


def field_text(text: Any) -> Any:
    """One field's explanation in Chinese (non-text details, such as numbers, pass unchanged)."""
    if not isinstance(text, str):
        return text
    if text in _FIELD_TEXTS:
        return _FIELD_TEXTS[text]
    for pattern, chinese in _FIELD_PATTERNS:
        found = pattern.search(text)
        if found:
            return chinese.format(*found.groups())
    return _DEFAULT_FIELD_TEXT


def localise(code: str, message: str, details: Any) -> tuple[str, Any]:
    """The citizen's ``(message, details)`` for an error of ``code``."""
    chinese = MESSAGES.get(code, _DEFAULT_MESSAGE)
    if code == "rate_limited" and any("\u4e00" <= ch <= "\u9fff" for ch in message):
        chinese = message  # the limiter already wrote it for the citizen
    if code == "validation_failed" and isinstance(details, dict):
        details = {key: field_text(value) for key, value in details.items()}
    return chinese, details
