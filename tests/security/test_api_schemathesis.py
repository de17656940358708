"""Schemathesis against /api/v1/openapi.json (issue 15): generated requests for every operation, with a real
token and without, get documented JSON answers and never a 500. Bounded examples (hypothesis profile)."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency (pip install -e '.[dev]')")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from migrator.flows.services import tokens as token_services  # noqa: E402
from tests.factories import AssistantFactory, FlowFactory  # noqa: E402
from tests.flows.factories import make_version  # noqa: E402

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def keep_test_connection():
    """As Django's test client does: the app must not close the test transaction's connection per request."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, engineer, keep_test_connection) -> str:
    assistant = AssistantFactory()
    make_version(assistant, {"model": "gpt-4o", "instructions": "Hi.", "tools": []}, approved=True)
    FlowFactory(assistant=assistant, slug="checkout-help", mode="stateless")
    _token, plaintext = token_services.create_token(actor=engineer, name="fuzz", consumer="schemathesis")
    return plaintext


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_the_config_api_conforms_to_its_openapi_and_never_500s(case, token):
    for headers in ({"Authorization": f"Bearer {token}"}, {}):
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.path_parameters, response.status_code)
        content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/json") or response.status_code == 304, response.status_code
        case.validate_response(response)
