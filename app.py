"""The Chalice application: wiring only (blueprints, authorizer, middleware, event handlers)."""

from chalice import Chalice

from chalicelib import batches, streams
from chalicelib.api.auth import auth_bp
from chalicelib.api.calls import calls_bp
from chalicelib.api.directory import directory_bp
from chalicelib.api.knowledge import knowledge_bp
from chalicelib.api.models import models_bp
from chalicelib.api.middleware import flush_metrics_middleware, http_middleware
from chalicelib.api.openapi import openapi_bp
from chalicelib.api.partners import partners_bp
from chalicelib.api.public import public_bp
from chalicelib.api.roster import roster_bp
from chalicelib.api.reports import reports_bp
from chalicelib.api.rules import rules_bp
from chalicelib.api.stats import stats_bp
from chalicelib.api.system import system_bp
from chalicelib.api.templates import templates_bp
from chalicelib.api.tickets import tickets_bp
from chalicelib.api.vocabulary import vocabulary_bp
from chalicelib.analytics import aggregator, intake_watch  # noqa: F401 - register the analytics stream consumers
from chalicelib.analytics import hotspots as analytics_hotspots
from chalicelib.analytics import wall_refresh as analytics_wall
from chalicelib.integration import relay  # noqa: F401 - registers the outbox relay stream consumer
from chalicelib.integration import reconciliation as partner_reconciliation_jobs
from chalicelib.integration import reports as partner_reports
from chalicelib.integration import sender as partner_sender
from chalicelib.api.workflow import workflow_bp
from chalicelib.config import check_lambda_startup, table_stream_arn
from chalicelib.notifications import events as notification_events  # noqa: F401 - registers the notifier consumer
from chalicelib.notifications import port as notifications
from chalicelib.reports import monthly_run
from chalicelib.reports import worker as report_worker
from chalicelib.services import archiving
from chalicelib.services import autodispatch  # noqa: F401 - registers the auto-dispatch stream consumer
from chalicelib.services import clock
from chalicelib.workflow import handlers as workflow_handlers
from chalicelib.workflow import starter as workflow_starter  # noqa: F401 - registers the workflow starter consumer
from chalicelib.workflow import sweeper as workflow_sweeper

check_lambda_startup()  # a deployed function without its secrets fails its cold start, not a request later

# The app's logger and the Powertools logger are one ``logging.Logger`` (same name): Chalice must not
# configure it, or, whenever it does not recognise Powertools' stdout handler, it turns propagation
# off and the level to ERROR, and every info and warning record is lost.
app = Chalice(app_name="complaint-platform", configure_logs=False)
app.api.binary_types = ["application/octet-stream",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]

app.register_blueprint(auth_bp)
app.register_blueprint(system_bp)
app.register_blueprint(vocabulary_bp)
app.register_blueprint(directory_bp)
app.register_blueprint(openapi_bp)
app.register_blueprint(rules_bp)
app.register_blueprint(tickets_bp)
app.register_blueprint(public_bp)
app.register_blueprint(templates_bp)
app.register_blueprint(knowledge_bp)
app.register_blueprint(calls_bp)
app.register_blueprint(roster_bp)
app.register_blueprint(workflow_bp)
app.register_blueprint(partners_bp)
app.register_blueprint(stats_bp)
app.register_blueprint(reports_bp)
app.register_blueprint(models_bp)

app.register_middleware(http_middleware, "http")
app.register_middleware(flush_metrics_middleware, "all")

# The table's stream (config.table_stream_arn says where it comes from).
TABLE_STREAM_ARN = table_stream_arn()


@app.on_dynamodb_record(stream_arn=TABLE_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON",
                        name="table_stream")
def table_stream(event):
    """Fan the table's changes out to every consumer; the earliest failure as a partial batch response."""
    return streams.dispatch(event.to_dict())


@app.on_sqs_message(queue="workflow", batch_size=10, name="workflow_checkpoints")
def workflow_checkpoints(event):
    """The ticket flow's checkpoints: apply due warnings, urgings and supervisions; answer the execution."""
    return batches.sqs_partial(event.to_dict(), workflow_handlers.handle_body)


@app.on_sqs_message(queue="notify", batch_size=10, name="notify_delivery")
def notify_delivery(event):
    """Deliver notifications: in-app inbox always, e-mail/SMS now or when working hours begin."""
    return batches.sqs_partial(event.to_dict(), notifications.deliver_body)


@app.schedule("rate(5 minutes)", name="sweeper")
def sweeper(event):
    """Backstop for the flow's timers (GSI4, never a scan), and release of held e-mails/SMS."""
    workflow_sweeper.sweep()


# At most WEBHOOK_SENDER_CONCURRENCY concurrent senders (the mapping's maximum concurrency): a slow
# partner cannot take the account's Lambda concurrency from the desk API.
@app.on_sqs_message(queue="outbox", batch_size=10, name="webhook_sender",
                    maximum_concurrency=partner_sender.WEBHOOK_SENDER_CONCURRENCY)
def webhook_sender(event):
    """Outbox messages -> signed partner webhooks (and their retries), with a DLQ after the last attempt."""
    return partner_sender.handle_event(event.to_dict())


@app.schedule("rate(1 minute)", name="webhook_retries")
def webhook_retries(event):
    """Put partner deliveries whose next attempt is due back on the outbox queue."""
    partner_sender.retry_due()


@app.schedule("cron(30 16 * * ? *)", name="data_center_daily_report")
def data_center_daily_report(event):
    """00:30 Asia/Shanghai: yesterday's figures to the regulatory data center."""
    partner_reports.daily_report()


@app.schedule("cron(0 18 * * ? *)", name="partner_reconciliation")
def partner_reconciliation(event):
    """02:00 Asia/Shanghai: reconcile yesterday with every partner; mismatches to S3 and a warning."""
    partner_reconciliation_jobs.nightly()


@app.on_sqs_message(queue="reports", batch_size=1, name="report_jobs")
def report_jobs(event):
    """Report and ledger jobs: gather the figures, render, store in S3, e-mail the subscribers."""
    return batches.sqs_partial(event.to_dict(), report_worker.work_body)


@app.schedule("cron(0 0 1 * ? *)", name="monthly_reports")
def monthly_reports(event):
    """08:00 Asia/Shanghai on the 1st: scores and reports of the month (and quarter, year) just ended."""
    monthly_run.run_event(event.to_dict())


@app.schedule("rate(1 hour)", name="hotspot_scan")
def hotspot_scan(event):
    """Hourly: districts, categories and respondents whose count jumps above its usual level."""
    analytics_hotspots.alert_new_hotspots(clock.now())


@app.schedule("rate(1 minute)", name="wall_refresh")
def wall_refresh(event):
    """Every minute: the manager's wall for 近7日/近30日/近90日, stored for GET /stats/wall to read."""
    analytics_wall.refresh(clock.now())


@app.schedule("cron(0 17 * * ? *)", name="archive_closed")
def archive_closed(event):
    """01:00 Asia/Shanghai: archive the closed tickets whose archive clock (SLA rule) is due."""
    archiving.run_scheduled()


@app.schedule("cron(0 19 ? * SAT *)", name="dispatch_retraining")
def dispatch_retraining(event):
    """03:00 Asia/Shanghai on Sundays: retrain the dispatch model on the corpus + dispatchers' corrections;
    promote it only if it beats the active model on held-out data (scikit-learn: imported here only); then
    train the category model on the tickets' own categories (services/category_suggestions.py)."""
    from chalicelib.dispatch import retraining
    from chalicelib.services import category_suggestions

    retraining.run_scheduled(clock.now())
    category_suggestions.run_training(clock.now())
