"""The suite-wide personal-data log scanner (tests/conftest.py) catches what it must, and only that.

Every test of the suite runs under the scanner: a phone or ID number in any log record (root or
Powertools logger, message, extra fields or traceback) or in captured stdout/stderr fails the test
during which it appeared. These tests prove the scanner itself works, so a clean run means something.
"""
from __future__ import annotations

import logging

from chalicelib.observability import logger


def test_a_phone_in_an_extra_field_of_the_platform_logger_is_caught(pii_log):
    logger.info("sms sent", extra={"to": "13812345678"})
    findings = pii_log.take()
    assert len(findings) == 1 and findings[0].startswith("phone 138****5678"), findings


def test_an_id_number_in_a_library_log_or_a_traceback_is_caught(pii_log):
    logging.getLogger("some.library").warning("lookup for %s failed", "11010119900307451X")
    try:
        raise ValueError("bad id 320102198001011234")
    except ValueError:
        logging.getLogger("another").error("boom", exc_info=True)
    findings = pii_log.take()
    assert any("110***********451X" in f and "some.library" in f for f in findings), findings
    assert any("320***********1234" in f and "another" in f for f in findings), findings
    assert {f.split()[0] for f in findings} == {"id_number"}, findings


def test_ids_timestamps_and_masked_values_are_not_mistaken_for_personal_data(pii_log):
    for text in ("request 3f1c13812345678ab done", "epoch 1764000000123", "138****5678", "110***********4512",
                 "ticket 20261124-7KQ2MZ3P", "uuid 5e3a9c1d-1381-2345-6789-0a1b2c3d4e5f", "amount 13812345678901"):
        assert pii_log.scan(text) == [], text
    assert pii_log.scan("电话13812345678，身份证110101199003074512") == [
        ("id_number", "110***********4512"), ("phone", "138****5678")]


def test_lines_the_platform_writes_are_masked_even_if_a_caller_slips():
    """The Powertools formatter masks the emitted JSON line, a second line of defence behind the
    rule that callers never log personal data (which the scanner enforces on the records)."""
    record = logging.getLogger("complaint-platform").makeRecord(
        "complaint-platform", logging.WARNING, __file__, 1, "callback to 13812345678 failed", None, None,
        extra={"id_number": "110101199003074512"})
    line = logger.registered_formatter.format(record)
    assert "13812345678" not in line and "110101199003074512" not in line, line
    assert "[PHONE]" in line and "[ID]" in line


def test_the_line_masker_masks_personal_data_and_leaves_ids_alone():
    """Keys such as ``T#.../O#0000000012#000`` stay readable; landlines and e-mail addresses are masked."""
    from chalicelib.observability import mask_pii

    for key in ("T#20261124-7KQ2MZ3P/O#0000000012#000", "E#0000000003#001", "RATE#submit-ip#0571888866660000",
                "epoch 1764000000123", "request 3f1c13812345678ab done"):
        assert mask_pii(key) == key
    assert mask_pii("回电0571-88886666或(0512)68886666") == "回电[PHONE]或[PHONE]"
    assert mask_pii("to zhang.san@example.com, 013700009999") == "to [EMAIL], [PHONE]"
    assert mask_pii('{"msg": "line\\n13812345678"}') == '{"msg": "line\\n[PHONE]"}'
