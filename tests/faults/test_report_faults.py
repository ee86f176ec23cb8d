"""S3 or e-mail down while a report is generated: the job is retried, parked, replayed, and not lost.

A report job runs on the ``reports`` queue (chalicelib/reports/worker.py). With S3 refusing every
write, each attempt records the failure on the job and re-raises, the queue retries it, and after
the last retry the message waits in the reports DLQ with the job marked failed (nothing
half-stored: no report object). Once S3 is back, the replayed message finishes the job: the HTML
report and the xlsx ledger are in the bucket. With e-mail (SES) down instead, the report is stored
once and only the e-mail is retried: each subscriber gets it exactly once when SES is back.
"""
from __future__ import annotations

from datetime import datetime

import boto3
import pytest

from chalicelib.domain.calendar import TZ
from chalicelib.reports import jobs
from tests.faults.queues import MAX_RECEIVE_COUNT, depth, pump_queue, redrive

SUBSCRIBERS = [{"email": "director@example.gov.cn", "name": "主任", "types": ["monthly"]},
               {"email": "stats@example.gov.cn", "name": "统计科", "types": ["monthly"]}]


@pytest.fixture
def api(api):
    for user in ("manager", "agent"):
        api.token(user)
    return api


def _job(api, job_id: str) -> dict:
    answer = api.get(f"/reports/{job_id}", user="manager")
    assert answer.status == 200, answer.body
    return answer.json.get("job", answer.json)


def _objects(bucket: str) -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


def _start_report(api, notify: bool) -> str:
    month = datetime.now(TZ).strftime("%Y-%m")
    answer = api.post("/reports", json={"type": "monthly", "period": month, "notify": notify}, user="manager")
    assert answer.status == 202, answer.body
    return answer.json["job"]["id"]


def test_s3_down_parks_the_report_job_and_a_replay_finishes_it(api, pump, faults, seeded):
    queue, dlq, bucket = seeded["REPORTS_QUEUE_URL"], seeded["REPORTS_DLQ_URL"], seeded["REPORTS_BUCKET"]
    job_id = _start_report(api, notify=False)
    faults.down("s3", "PutObject")

    assert pump_queue(pump, "report_jobs") == MAX_RECEIVE_COUNT
    assert depth(queue) == 0 and depth(dlq) == 1
    job = _job(api, job_id)
    assert job["status"] == "failed", job
    assert jobs.get(job_id)["attempts"] == MAX_RECEIVE_COUNT, "every receive was an attempt"
    faults.clear()
    assert not [k for k in _objects(bucket) if k.startswith("reports/")], "nothing half-stored"

    assert redrive(dlq, queue) == 1
    assert pump_queue(pump, "report_jobs") == 1
    job = _job(api, job_id)
    assert job["status"] == "done", job
    stored = _objects(bucket)
    assert any(k.endswith("/report.html") for k in stored) and any(k.endswith("/ledger.xlsx") for k in stored)


def test_email_down_retries_only_the_email_and_each_subscriber_gets_it_once(api, pump, faults, seeded):
    saved = api.put("/report-subscribers", json={"subscribers": SUBSCRIBERS, "expected_version": 0}, user="manager")
    assert saved.status == 200, saved.body
    boto3.client("ses").verify_email_identity(EmailAddress="noreply@notify.12345.local")
    queue, dlq = seeded["REPORTS_QUEUE_URL"], seeded["REPORTS_DLQ_URL"]
    job_id = _start_report(api, notify=True)
    faults.down("email", "SendEmail")

    assert pump_queue(pump, "report_jobs") == MAX_RECEIVE_COUNT
    assert depth(dlq) == 1
    job = _job(api, job_id)
    assert job["status"] == "done" and not job.get("sent_at"), "stored once, e-mail still owed"
    puts_while_down = faults.count("s3", "PutObject")
    faults.clear()

    assert redrive(dlq, queue) == 1
    assert pump_queue(pump, "report_jobs") == 1
    job = _job(api, job_id)
    assert job.get("sent_at") and job.get("recipients") == len(SUBSCRIBERS), job
    assert faults.count("s3", "PutObject") == puts_while_down, "the replay did not build the report again"
    assert boto3.client("ses").get_send_quota()["SentLast24Hours"] == len(SUBSCRIBERS)
