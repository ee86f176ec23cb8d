"""Reports on the hand-worked month: totals, charts, ledger, scores, revisions, e-mail, schedules."""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone

import pytest

from chalicelib.analytics import alerts, assessment
from chalicelib.analytics.period import month_period, parse
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.reports import jobs, monthly_run, storage, worker
from tests.analytics.conftest import sent_mail

MARCH = month_period(2030, 3)
NOW = datetime(2030, 4, 1, 8, 5, tzinfo=TZ)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _xlsx(ref):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(storage.read(ref)), read_only=True)


def test_a_monthly_report_renders_the_right_totals_and_its_ledger_opens(march):
    desk, ids = march
    job, created = jobs.create("monthly", MARCH, requested_by="manager", now=NOW)
    assert created and job["status"] == "queued"
    done = worker.work(job["id"])
    assert done["status"] == "done" and done["progress"] == 100 and done["rows"] == 5
    html = storage.read(done["html"]).decode("utf-8")
    text = _text(html)
    assert "投诉举报处置月度报告（2030年3月）" in text
    assert "本期共登记诉求 5 件" in text and "办结 4 件" in text  # T2 closed by the citizen's evaluation
    assert "按时签收率 50.0%" in text and "满意率 50.0%" in text and "按时办结率 100.0%" in text
    assert "红牌预警 1 次" in text and "督办 1 次" in text
    assert html.count("<svg") >= 6  # the charts, inline
    assert "市场监督管理局" in text and "城市管理局" in text
    assert "甲超市" in text  # the respondents table
    assert "部门考核排名" in text and "座席考核排名" in text
    assert "138****0001" not in html and "13800000001" not in html  # no personal data in a report
    assert done["totals"] == {"received": 5, "closed": 4}

    book = _xlsx(done["xlsx"])
    sheet = book["台账"]
    table = list(sheet.iter_rows(values_only=True))
    assert table[1][0] == "工单编号" and len(table) == 2 + 5
    by_id = {row[0]: row for row in table[2:]}
    assert set(by_id) == set(ids.values())
    t1 = dict(zip(table[1], by_id[ids["T1"]]))
    assert t1["联系电话"] == "138****0001" and t1["投诉/举报人"] == "张*"
    assert (t1["当前状态"], t1["办理结果"], t1["是否按期"], t1["满意度"], t1["是否解决"]) == \
        ("已办结", "调解成功", "是", "满意", "是")
    t5 = dict(zip(table[1], by_id[ids["T5"]]))
    assert (t5["催办次数"], t5["督办次数"], t5["是否按期"], t5["来源渠道"]) == (2, 1, "否", "上级交办")


def test_scores_rank_departments_and_trace_to_tickets(march):
    desk, ids = march
    result = assessment.compute(MARCH, "department")
    rows = {r["subject"]: r for r in result["scores"]}
    market, urban = rows["MARKET"], rows["URBAN"]
    by_indicator = {d["indicator"]: d for d in market["indicators"]}
    assert by_indicator["dept-sign-rate"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    assert by_indicator["dept-urged"]["value"] == 2 and by_indicator["dept-urged"]["score"] == 90.0
    assert by_indicator["dept-supervised"]["score"] == 90.0
    assert market["rank"] == 1 and urban["rank"] == 2 and market["score"] > urban["score"]
    assert {d["indicator"]: d["score"] for d in urban["indicators"]}["dept-satisfaction"] == 0.0
    assert rows["WATER"]["score"] is None and rows["WATER"]["rank"] is None  # nothing to score
    traced = assessment.trace(result, "MARKET", "dept-sign-rate")
    assert {d["measure"]: d["count"] for d in traced["drilldown"]} == {"sign_late": 1, "sign_on_time": 2}
    assert assessment.scoped(result, "URBAN")["scores"] == [urban]
    agents = {r["subject"]: r for r in assessment.compute(MARCH, "agent")["scores"]}
    assert set(agents) == {"agent"}  # only directory users with the agent role (agent2 is not one)


def test_a_sent_report_is_revised_never_silently_replaced(march):
    job, _ = jobs.create("quarterly", parse("2030-Q1"), requested_by="manager", now=NOW, notify=True)
    first = worker.work(job["id"])
    assert first["sent_at"] and first["recipients"] == 1
    with pytest.raises(Conflict):
        jobs.create("quarterly", parse("2030-Q1"), requested_by="manager", now=NOW)
    with pytest.raises(ValidationFailed):
        jobs.create("quarterly", parse("2030-Q1"), requested_by="manager", now=NOW, revise=True)
    revision, _ = jobs.create("quarterly", parse("2030-Q1"), requested_by="manager", now=NOW, revise=True,
                              reason="补录3月数据", notify=True)
    second = worker.work(revision["id"])
    assert second["revision"] == 2 and second["supersedes"]["job_id"] == first["id"]
    assert first["html"]["key"] == second["html"]["key"] and first["html"]["version_id"] != second["html"]["version_id"]
    assert len(storage.versions(first["html"]["key"])) == 2
    assert "修订版（第2版）" in _text(storage.read(second["html"]).decode()) and "补录3月数据" in \
        storage.read(second["html"]).decode()
    assert "修订版" not in storage.read(first["html"]).decode()  # the sent version is still there, unchanged
    subjects = [m.subject for m in sent_mail() if "2030年第1季度" in m.subject]
    assert subjects == ["投诉举报处置季度报告（2030年第1季度）", "投诉举报处置季度报告（2030年第1季度）（修订版，第2版）"]
    body = next(m.body for m in sent_mail() if "修订版，第2版" in m.subject)
    assert "补录3月数据" in body and f"versionId={second['html']['version_id']}" in body


def test_a_special_report_analyses_a_hotspot(march):
    desk, ids = march
    identifier, _ = alerts.raise_alert(
        kind="hotspot", level="hotspot", at=datetime(2030, 3, 7, tzinfo=TZ), subject="district|GUSU|2030-03-07",
        title="热点：属地“姑苏区”近7日诉求激增", body="2030-03-01至2030-03-07共2件。", ticket_ids=[ids["T1"], ids["T3"]],
        now=NOW, data={"dimension": "district", "dimension_label": "属地", "value": "GUSU", "label": "姑苏区",
                       "from": "2030-03-01", "to": "2030-03-07", "count": 2, "expected": 0.1, "p_value": 1e-5,
                       "threshold": 1e-3, "method": "poisson_gamma", "baseline": [0] * 8})
    job, _ = jobs.create("special", MARCH, requested_by="manager", now=NOW, subject=identifier,
                         params={"alert_id": identifier})
    done = worker.work(job["id"])
    html = storage.read(done["html"]).decode()
    assert "专题分析报告" in html and "姑苏区" in html and ids["T1"] in html and ids["T3"] in html
    assert ids["T2"] not in html and done["rows"] == 2 and "<svg" in html
    assert {row[0] for row in list(_xlsx(done["xlsx"])["台账"].iter_rows(values_only=True))[2:]} == \
        {ids["T1"], ids["T3"]}


def test_the_schedule_fires_in_the_local_runtime_and_mails_the_subscribers(march, world):
    from app import app
    from chalicelib.local.pump import Clock, EventPump
    from chalicelib.local.schedule_expressions import Schedule

    rule = next(s for s in app.event_sources if getattr(s, "name", "") == "monthly_reports")
    assert rule.schedule_expression == "cron(0 0 1 * ? *)"
    new_year = Schedule(rule.schedule_expression).next_after(datetime(2030, 12, 15, tzinfo=timezone.utc))
    assert new_year.astimezone(TZ) == datetime(2031, 1, 1, 8, 0, tzinfo=TZ)  # 08:00 Asia/Shanghai on the 1st
    assert [(t, p.label) for t, p in monthly_run.due(new_year)] == [("monthly", "2030-12"), ("quarterly", "2030-Q4"),
                                                                 ("annual", "2030")]
    assert [(t, p.label) for t, p in monthly_run.due(datetime(2030, 5, 1, tzinfo=timezone.utc))] == [("monthly", "2030-04")]

    fires = Schedule(rule.schedule_expression).next_after(datetime(2030, 6, 15, tzinfo=timezone.utc))
    pump = EventPump(app, world, clock=Clock(_origin_virtual=fires.timestamp()))
    assert pump.fire_schedule("monthly_reports")
    pump.fire_schedule("monthly_reports")  # a second firing creates nothing new
    queued = [j for j in jobs.list_jobs() if j["scheduled"]]
    assert sorted((j["type"], j["period"]["label"]) for j in queued) == [("monthly", "2030-06"), ("quarterly", "2030-Q2")]
    assert assessment.stored(parse("2030-Q2"), "department")["period"]["label"] == "2030-Q2"  # scored first
    before = len(sent_mail())
    for job in queued:
        pump.drain(max_rounds=10)
        if jobs.get(job["id"])["status"] != "done":
            worker.work(job["id"])  # the queue may still be busy with others' messages: work it directly
    finished = [jobs.get(j["id"]) for j in queued]
    assert all(j["status"] == "done" and j["sent_at"] for j in finished)
    quarter = next(j for j in finished if j["type"] == "quarterly")
    assert "本期共登记诉求 0 件" in _text(storage.read(quarter["html"]).decode())  # nothing after March
    assert len(sent_mail()) - before == 2


def test_reports_over_http(march, api, monkeypatch):
    answer = api.post("/reports", json={"type": "monthly", "period": "2030-02"}, user="manager")
    assert answer.status == 202 and answer.json["job"]["status"] == "queued"
    job_id = answer.json["job"]["id"]
    worker.work(job_id)
    shown = api.get(f"/reports/{job_id}", user="manager").json
    assert shown["status"] == "done" and "versionId=" in shown["links"]["html"] and shown["links"]["xlsx"]
    assert api.post("/reports", json={"type": "monthly", "period": "2030-Q1"}, user="manager").status == 400
    assert api.post("/reports", json={"type": "monthly", "period": "2030-02"}, user="dispatcher").status == 403
    assert api.get(f"/reports/{job_id}", user="handler").status == 404
    assert api.get("/reports", user="manager").json["jobs"][0]["id"]
    assert api.put("/report-subscribers", json={"subscribers": [{"email": "not-an-address"}], "expected_version": 1},
                   user="manager").status == 400

    small = api.get("/ledger?from=2030-03-01&to=2030-03-31", user="handler")  # MARKET's own tickets
    assert small.status == 200 and small.json["rows"] == 3  # T1, T2 (assist), T5
    monkeypatch.setattr("chalicelib.api.reports.SYNC_LEDGER_MAX_ROWS", 2)
    large = api.get("/ledger?from=2030-03-01&to=2030-03-31", user="dispatcher")
    assert large.status == 202 and large.json["expected_rows"] == 5
    ledger_job = large.json["job"]["id"]
    worker.work(ledger_job)
    done = api.get(f"/reports/{ledger_job}", user="dispatcher").json
    assert done["status"] == "done" and done["rows"] == 5 and done["links"]["xlsx"]
    assert api.get(f"/reports/{ledger_job}", user="handler").status == 404  # someone else's job


def test_the_report_is_readable_while_its_ledger_is_still_being_written(march, api, monkeypatch):
    """The report reads counters; the ledger lists every ticket. The HTML is linked first."""
    job_id = api.post("/reports", json={"type": "monthly", "period": "2030-03"}, user="manager").json["job"]["id"]
    seen_meanwhile = {}
    write = worker.ledger.write

    def watched_write(period, **kwargs):
        seen_meanwhile.update(api.get(f"/reports/{job_id}", user="manager").json)
        return write(period, **kwargs)

    monkeypatch.setattr(worker.ledger, "write", watched_write)
    worker.work(job_id)
    assert seen_meanwhile["status"] == "running" and seen_meanwhile["step"] == "生成台账"
    assert "versionId=" in seen_meanwhile["links"]["html"] and "xlsx" not in seen_meanwhile["links"]
    html = storage.read(jobs.get(job_id)["html"]).decode("utf-8")
    assert "逐件列出本期登记的 5 件工单" in _text(html)
    done = api.get(f"/reports/{job_id}", user="manager").json
    assert done["status"] == "done" and done["links"]["html"] and done["links"]["xlsx"]
