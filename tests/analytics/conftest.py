"""Fixtures for the analytics and reports tests.

The tests of this package share one moto with every resource (``world``) and one hand-worked
month of tickets (``march``): each test works in its own months (or on that shared month without
changing it), so they do not see each other's counters.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, str]]:
    """moto with every resource of infra/ and the seeded directory, shared by the module (a package
    scope would outlive this directory: the test tree has no __init__.py)."""
    from tests.conftest import embedded_aws

    with embedded_aws(seeded=True) as env:
        _verify_sender()
        yield env


@pytest.fixture(scope="module")
def scratch_table(world: dict[str, str]) -> Iterator[str]:
    """A table of the same shape without a stream, for a module that writes many counters.

    Analytics reads and writes through ``Settings.table_name``; pointing it here keeps the shared
    table's stream short (the pumps of other tests replay it) and moto fast (no stream records).
    """
    from chalicelib.aws import client
    from chalicelib.config import reset_settings

    dynamodb = client("dynamodb")
    shape = dynamodb.describe_table(TableName=world["TABLE_NAME"])["Table"]
    name = f"analytics-scratch-{len(dynamodb.list_tables()['TableNames'])}"
    dynamodb.create_table(
        TableName=name, KeySchema=shape["KeySchema"], AttributeDefinitions=shape["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[{"IndexName": g["IndexName"], "KeySchema": g["KeySchema"],
                                 "Projection": g["Projection"]} for g in shape["GlobalSecondaryIndexes"]])
    saved = os.environ["TABLE_NAME"]
    os.environ["TABLE_NAME"] = name
    reset_settings()
    try:
        yield name
    finally:
        os.environ["TABLE_NAME"] = saved
        reset_settings()


def _verify_sender() -> None:
    """moto's SES refuses unverified senders, as SES does: verify the notification sender."""
    from chalicelib.aws import client
    from chalicelib.notifications.email import sender_address

    client("ses").verify_email_identity(EmailAddress=sender_address())


@pytest.fixture(scope="module")
def march(world: dict[str, str]) -> tuple:
    """The month of tests/analytics/dataset.py, counted (a stretch of it delivered twice), its tickets
    stored, and report subscribers configured."""
    from chalicelib.reports import subscribers
    from chalicelib.store.tickets import ticket_item
    from tests.analytics import helpers
    from tests.analytics.dataset import march_2030

    desk, ids = march_2030()
    stream = helpers.records(desk)
    helpers.feed(stream)
    helpers.feed(stream[3:9])  # a redelivered stretch changes nothing
    for ticket in desk.tickets.values():
        ticket_item(ticket).save()
    subscribers.save([{"email": "director@example.gov.cn", "name": "主任", "types": ["monthly", "quarterly", "annual"]},
                      {"email": "analyst@example.gov.cn", "types": ["special"]}], expected_version=0)
    return desk, ids


@pytest.fixture(scope="module")
def api(world: dict[str, str]) -> object:
    """An API client over the shared world (demo users seeded)."""
    from tests.conftest import ApiClient

    return ApiClient()


def sent_mail() -> list:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from chalicelib.aws import client

    return ses_backends[DEFAULT_ACCOUNT_ID][client("ses").meta.region_name].sent_messages
