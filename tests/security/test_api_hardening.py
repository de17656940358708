"""The production API under hostile use (issue 15): 405s are JSON, HEAD works where GET does, and a token
limited to some flows cannot tell existing slugs from unknown ones."""

from __future__ import annotations

import pytest

from migrator.flows.services import tokens as token_services
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

pytestmark = pytest.mark.django_db

CONFIG = {"model": "gpt-4o", "instructions": "Hi.", "tools": [], "truncation": "disabled", "store": True}


@pytest.fixture
def served(engineer):
    assistant = AssistantFactory(legacy_id="asst_api")
    make_version(assistant, CONFIG, approved=True)
    flow = FlowFactory(assistant=assistant, slug="checkout-help", mode="stateless")
    _token, plaintext = token_services.create_token(actor=engineer, name="all", consumer="web")
    return {"flow": flow, "plaintext": plaintext, "engineer": engineer}


def _auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/flows/checkout-help/config", "/api/v1/openapi.json"])
def test_the_apis_405_answers_are_json_and_name_the_allowed_methods(served, client, method, path):
    response = getattr(client, method)(path, **_auth(served["plaintext"]))
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "method_not_allowed" and "GET" in error["message"]
    assert {m.strip() for m in response["Allow"].split(",")} >= {"GET", "HEAD"}


def test_head_answers_like_get_without_a_body(served, client):
    got = client.get("/api/v1/flows/checkout-help/config", **_auth(served["plaintext"]))
    head = client.head("/api/v1/flows/checkout-help/config", **_auth(served["plaintext"]))
    assert got.status_code in (200, 409)  # 409 until a cutover is approved: HEAD answers the same either way
    assert head.status_code == got.status_code and head.content == b""
    assert head.get("ETag") == got.get("ETag") and head["Content-Length"] == str(len(got.content))
    assert client.head("/api/v1/openapi.json").status_code == 200
    missing = client.head("/api/v1/flows/checkout-help/config")
    assert missing.status_code == 401 and missing.content == b""


def test_a_flow_limited_token_cannot_tell_existing_slugs_from_unknown_ones(served, client):
    mine = FlowFactory(slug="mine", mode="stateless")
    FlowFactory(slug="secret-flow", mode="stateless")
    _t, limited = token_services.create_token(actor=served["engineer"], name="one", consumer="ops",
                                              flow_ids=[mine.pk])
    existing = client.get("/api/v1/flows/secret-flow/config", **_auth(limited))
    unknown = client.get("/api/v1/flows/no-such-flow/config", **_auth(limited))
    assert existing.status_code == unknown.status_code == 403
    assert existing.json()["error"]["code"] == unknown.json()["error"]["code"] == "token_not_allowed"
    same = existing.json()["error"]["message"].replace("secret-flow", "X")
    assert same == unknown.json()["error"]["message"].replace("no-such-flow", "X")
    assert client.get("/api/v1/flows/mine/config", **_auth(limited)).status_code in (200, 409)
