"""The Chalice application: wiring only (blueprints, authorizer, middleware, event handlers)."""
from chalice import Chalice

from chalicelib.api.auth import auth_bp
from chalicelib.api.middleware import flush_metrics_middleware, http_middleware
from chalicelib.api.directory import directory_bp
from chalicelib.api.openapi import openapi_bp
from chalicelib.api.public import public_bp
from chalicelib.api.rules import rules_bp
from chalicelib.api.system import system_bp
from chalicelib.api.tickets import tickets_bp

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

app.register_middleware(http_middleware, "http")
app.register_middleware(flush_metrics_middleware, "all")
