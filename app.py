"""The Chalice application: wiring only (blueprints, authorizer, middleware, event handlers)."""
import os

from chalice import Chalice

from chalicelib import streams
from chalicelib.api.auth import auth_bp
from chalicelib.api.directory import directory_bp
from chalicelib.api.middleware import flush_metrics_middleware, http_middleware
from chalicelib.api.openapi import openapi_bp
from chalicelib.api.public import public_bp
from chalicelib.api.rules import rules_bp
from chalicelib.api.system import system_bp
from chalicelib.api.templates import templates_bp
from chalicelib.api.tickets import tickets_bp
from chalicelib.integration import relay  # noqa: F401 - registers the outbox relay stream consumer

app = Chalice(app_name="complaint-platform")
app.api.binary_types = ["application/octet-stream",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]

app.register_blueprint(auth_bp)
app.register_blueprint(system_bp)
app.register_blueprint(directory_bp)
app.register_blueprint(openapi_bp)
app.register_blueprint(rules_bp)
app.register_blueprint(tickets_bp)
app.register_blueprint(public_bp)
app.register_blueprint(templates_bp)

app.register_middleware(http_middleware, "http")
app.register_middleware(flush_metrics_middleware, "all")

# The table's stream (the ARN is wired to TicketsTable.StreamArn by `make package`; the local
# runtime's pump reads the table's stream whatever this says).
TABLE_STREAM_ARN = os.environ.get(
    "TABLE_STREAM_ARN", "arn:aws:dynamodb:us-east-1:000000000000:table/tickets/stream/local")


@app.on_dynamodb_record(stream_arn=TABLE_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON",
                        name="table_stream")
def table_stream(event):
    """Fan the table's changes out to the outbox relay, the workflow starter and analytics."""
    streams.dispatch(event.to_dict())
