"""The production config API: tokens, auth failures, bad slugs, ETags, rollouts, counting, OpenAPI."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from migrator.core.models import AuditEvent
from migrator.flows.models import ApiToken
from migrator.flows.services import tokens as token_services
from migrator.flows.services import traffic
from tests.cutover.helpers import serve
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

pytestmark = pytest.mark.django_db

CONFIG_V1 = {"model": "gpt-4o", "instructions": "v1 instructions", "tools": [], "temperature": 0.2,
             "text": {"format": {"type": "text"}}, "metadata": {"legacy_assistant_id": "asst_1"},
             "truncation": "disabled", "store": True}
CONFIG_V2 = {**CONFIG_V1, "instructions": "v2 instructions", "reasoning": None}


@pytest.fixture
def served(engineer):
    """A flow with a mode and an approved version, and a token for it."""
    assistant = AssistantFactory(legacy_id="asst_served")
    v1 = make_version(assistant, CONFIG_V1, approved=True)
    flow = FlowFactory(assistant=assistant, slug="checkout-help", name="Checkout help", mode="conversation",
                       truncation="auto", store=True)
    serve(flow, v1)
    token, plaintext = token_services.create_token(actor=engineer, name="checkout web", consumer="web team")
    return {"assistant": assistant, "flow": flow, "v1": v1, "token": token, "plaintext": plaintext}


def get(client: Client, slug: str, token: str | None = None, **headers):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    for name, value in headers.items():
        extra["HTTP_" + name.upper().replace("-", "_")] = value
    return client.get(f"/api/v1/flows/{slug}/config", **extra)


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json")
    return response.json()["error"]


def test_the_flow_config_with_etag_and_304(served, client):
    response = get(client, "checkout-help", served["plaintext"])
    assert response.status_code == 200
    body = response.json()
    assert body["flow"] == {"slug": "checkout-help", "name": "Checkout help", "status": "planning",
                            "mode": "conversation", "state_param": "conversation", "truncation": "auto",
                            "store": True, "streams": False}
    assert body["version"]["id"] == served["v1"].pk and body["version"]["number"] == 1
    assert body["version"]["label"] == "production" and body["rollout"]["percent"] == 100.0
    assert body["config"]["model"] == "gpt-4o" and body["config"]["instructions"] == "v1 instructions"
    assert body["config"]["truncation"] == "auto"  # the flow decides
    assert body["config"]["temperature"] == 0.2 and body["config"]["metadata"] == {"legacy_assistant_id": "asst_1"}
    etag = response["ETag"]
    assert etag == f'"{body["etag"]}"' and response["Cache-Control"] == "private, no-cache"

    again = get(client, "checkout-help", served["plaintext"], **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert get(client, "checkout-help", served["plaintext"], **{"If-None-Match": f"W/{etag}"}).status_code == 304
    assert get(client, "checkout-help", served["plaintext"], **{"If-None-Match": '"stale"'}).status_code == 200


@pytest.mark.parametrize(("header", "code"), [
    (None, "missing_token"),
    ("", "missing_token"),
    ("Basic dXNlcjpwYXNz", "invalid_request"),
    ("Bearer", "invalid_request"),
    ("Bearer not-a-token", "invalid_token"),
    ("Bearer mgr_0123abcd_" + "x" * 43, "invalid_token"),  # well-formed, unknown
])
def test_auth_failures_are_401_json_with_a_challenge(served, client, header, code):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/api/v1/flows/checkout-help/config", **extra)
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == code and error["message"]
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="migrator"')
    assert ("error=" in challenge) == (code != "missing_token")
    assert ApiToken.objects.get(pk=served["token"].pk).use_count == 0


def test_a_wrong_secret_and_a_revoked_token_are_refused(served, client, engineer):
    plaintext = served["plaintext"]
    wrong = plaintext[:-4] + ("aaaa" if not plaintext.endswith("aaaa") else "bbbb")
    assert error_of(get(client, "checkout-help", wrong))["code"] == "invalid_token"
    token_services.revoke_token(actor=engineer, token_id=served["token"].pk, reason="leaked")
    response = get(client, "checkout-help", plaintext)
    assert response.status_code == 401 and "was revoked" in error_of(response)["message"]
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    event = AuditEvent.objects.get(verb="migrator.apitoken.revoked")
    assert event.data == {"reason": "leaked"} and plaintext not in json.dumps(event.after)


@pytest.mark.parametrize("slug", ["nope", "UPPER", "a" * 300, "with%20space", "%00", "%E2%80%A6"])
def test_unknown_or_bad_slugs_are_404_json(served, client, slug):
    response = get(client, slug, served["plaintext"])
    assert response.status_code == 404
    assert error_of(response)["code"] == "flow_not_found"


@pytest.mark.parametrize("path", ["/api/v1/flows/..%2F..%2Fetc/config", "/api/v2/flows/x/config", "/api/",
                                  "/api/v1/flows/checkout-help"])
def test_other_api_paths_are_404_json_too(served, client, path):
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {served['plaintext']}")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_other_methods_are_refused_without_a_500(served, client):
    response = client.post("/api/v1/flows/checkout-help/config", HTTP_AUTHORIZATION=f"Bearer {served['plaintext']}")
    assert response.status_code == 405


def test_nothing_to_serve_is_409(served, client, engineer):
    lonely = FlowFactory(slug="no-version", mode="stateless")
    response = get(client, "no-version", served["plaintext"])
    assert response.status_code == 409 and error_of(response)["code"] == "not_cut_over"
    # An approved version alone is not served: no silent fallback from "production" to "approved".
    make_version(lonely.assistant, CONFIG_V1, approved=True)
    assert error_of(get(client, "no-version", served["plaintext"]))["code"] == "not_cut_over"
    FlowFactory(assistant=served["assistant"], slug="no-mode")
    response = get(client, "no-mode", served["plaintext"])
    assert response.status_code == 409 and error_of(response)["code"] == "mode_not_chosen"
    assert "support lead approves" in error_of(get(client, "no-version", served["plaintext"]))["message"]


def test_a_token_limited_to_other_flows_gets_403(served, client, engineer):
    other = FlowFactory(slug="other-flow", mode="stateless")
    _token, limited = token_services.create_token(actor=engineer, name="other only", consumer="ops",
                                                  flow_ids=[other.pk])
    response = get(client, "checkout-help", limited)
    assert response.status_code == 403 and error_of(response)["code"] == "token_not_allowed"


def test_every_call_is_counted_on_its_token(served, client):
    plaintext = served["plaintext"]
    etag = get(client, "checkout-help", plaintext)["ETag"]
    get(client, "checkout-help", plaintext, **{"If-None-Match": etag})
    get(client, "nope", plaintext)
    assert ApiToken.objects.get(pk=served["token"].pk).use_count == 0  # counted outside the database …
    traffic.flush()
    token = ApiToken.objects.get(pk=served["token"].pk)  # … until the flush
    assert token.use_count == 3 and token.last_used_at is not None


def test_tokens_are_shown_once_and_stored_hashed(served, engineer):
    token, plaintext = served["token"], served["plaintext"]
    assert plaintext.startswith(f"mgr_{token.prefix}_") and token.display_prefix == f"mgr_{token.prefix}"
    assert token.token_hash == ApiToken.hash_token(plaintext) and plaintext not in token.token_hash
    created = AuditEvent.objects.get(verb="migrator.apitoken.created")
    assert plaintext not in json.dumps([created.after, created.data])
    assert token_services.authenticate(f"Bearer {plaintext}").pk == token.pk
    assert token_services.authenticate(f"bearer   {plaintext}  ").pk == token.pk


def test_token_rules(engineer, product_owner, support_lead):
    from migrator.core.services import NotAllowed, ServiceError

    for user in (product_owner, support_lead):
        with pytest.raises(NotAllowed):
            token_services.create_token(actor=user, name="x", consumer="y")
    with pytest.raises(ServiceError, match="Name the token"):
        token_services.create_token(actor=engineer, name=" ", consumer="y")
    with pytest.raises(ServiceError, match="no longer exists"):
        token_services.create_token(actor=engineer, name="x", consumer="y", flow_ids=[987654])
    token, _ = token_services.create_token(actor=engineer, name="x", consumer="y")
    with pytest.raises(NotAllowed):
        token_services.revoke_token(actor=product_owner, token_id=token.pk)
    first = token_services.revoke_token(actor=engineer, token_id=token.pk)
    assert token_services.revoke_token(actor=engineer, token_id=token.pk).revoked_at == first.revoked_at


# --- OpenAPI ------------------------------------------------------------------------------------------------


def test_openapi_document_is_valid_and_real_responses_match_it(served, client):
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")  # public: no session, no token
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.")
    operation = document["paths"]["/api/v1/flows/{slug}/config"]["get"]
    assert set(operation["responses"]) >= {"200", "304", "401", "403", "404", "409"}
    assert any(p["name"] == "If-None-Match" for p in operation["parameters"])
    assert document["components"]["securitySchemes"]["ApiTokenAuth"] == {"type": "http", "scheme": "bearer"}

    registry = Registry().with_resource("urn:api", Resource(contents=document, specification=DRAFT202012))

    def check(resp, status: str) -> None:
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        ref = schema["$ref"].replace("#/", "urn:api#/")
        errors = list(Draft202012Validator({"$ref": ref}, registry=registry).iter_errors(resp.json()))
        assert errors == [], [e.message for e in errors]

    plaintext = served["plaintext"]
    check(get(client, "checkout-help", plaintext), "200")
    check(get(client, "checkout-help"), "401")
    check(get(client, "nope", plaintext), "404")
    FlowFactory(slug="bare")
    check(get(client, "bare", plaintext), "409")
    other = FlowFactory(slug="other", mode="stateless")
    _t, limited = token_services.create_token(actor=served["token"].created_by, name="l", consumer="c",
                                              flow_ids=[other.pk])
    check(get(client, "checkout-help", limited), "403")


def test_swagger_docs_are_served_locally(client):
    response = client.get(reverse("api:v1:openapi-view"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui" in html and "cdn" not in html.lower()
