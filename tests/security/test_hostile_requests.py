"""Requests that used to answer 500 (issue 15, "Nine requests answer 500"): each gets a page or a 4xx now."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from tests.factories import AssistantFactory, FlowFactory
from tests.prompts.factories import PromptVersionFactory

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "\u00b2"  # "²".isdigit() is True, int("²") raises
TWENTY_FIVE_DIGITS = "9" * 25


@pytest.fixture
def version():
    return PromptVersionFactory(config={"model": "gpt-4o", "instructions": "Hi.",
                                        "tools": [{"type": "function", "name": "f", "parameters": {}}]})


@pytest.mark.parametrize("name", ["prompts:assistant_prompt", "prompts:compare", "tools:assistant_tools"])
def test_superscript_digits_and_25_digit_ids_in_the_query_get_a_page(client, admin_user, version, name):
    client.force_login(admin_user)
    url = reverse(name, args=[version.assistant_id])
    for query in ({"v": SUPERSCRIPT_TWO}, {"a": SUPERSCRIPT_TWO, "b": TWENTY_FIVE_DIGITS},
                  {"v": TWENTY_FIVE_DIGITS, "connection": SUPERSCRIPT_TWO}, {"connection": TWENTY_FIVE_DIGITS}):
        response = client.get(url, query)
        assert response.status_code in (200, 302), (name, query, response.status_code)


def test_superscript_digits_on_a_tool_card_are_not_a_500(client, admin_user, version):
    client.force_login(admin_user)
    url = reverse("tools:tool_card", args=[version.assistant_id, "function:f"])
    for query in ({"v": SUPERSCRIPT_TWO}, {"connection": SUPERSCRIPT_TWO}, {"connection": TWENTY_FIVE_DIGITS}):
        assert client.get(url, query).status_code < 500, query


def test_25_digit_ids_are_a_page_or_a_form_error_not_a_500(client, admin_user):
    FlowFactory(assistant=AssistantFactory())
    client.force_login(admin_user)
    assert client.get(reverse("flows:list"), {"assistant": TWENTY_FIVE_DIGITS}).status_code < 500
    assert client.get(reverse("flows:list"), {"assistant": SUPERSCRIPT_TWO}).status_code < 500
    response = client.post(reverse("flows:token_create"), {"name": "n", "consumer": "c",
                                                             "flows": [TWENTY_FIVE_DIGITS]})
    assert response.status_code in (200, 422), response.status_code  # a form error, not a 500
    from migrator.flows.models import ApiToken

    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("payload", ["deep", "digits", "float", "nan"])
@pytest.mark.parametrize("name", ["prompts:edit", "prompts:validate"])
def test_hostile_config_json_is_a_clear_refusal_and_saves_nothing(client, product_owner, version, name, payload):
    text = {
        "deep": '{"model": "gpt-4o", "x": ' + "[" * 5000 + "]" * 5000 + "}",
        "digits": '{"model": "gpt-4o", "temperature": ' + "9" * 5000 + "}",
        "float": '{"model": "gpt-4o", "temperature": 0.' + "1" * 5000 + "}",
        "nan": '{"model": "gpt-4o", "temperature": NaN}',
    }[payload]
    client.force_login(product_owner)
    response = client.post(reverse(name, args=[version.pk]), {"mode": "config", "config": text})
    assert response.status_code in (200, 422), response.status_code
    body = response.content.decode()
    assert "cannot be accepted" in body or "not valid JSON" in body
    assert version.assistant.prompt_versions.count() == 1  # nothing saved


def test_bounded_json_names_the_place():
    from migrator.core import safeinput

    with pytest.raises(safeinput.JSONRefused) as info:
        safeinput.loads(json.dumps({"tools": [{"function": {"parameters": {"x": "y" * 20}}}]}),
                        safeinput.JSONLimits(max_string_chars=12))
    assert info.value.path == "tools[0].function.parameters.x"
    assert safeinput.parse_int(SUPERSCRIPT_TWO) is None and safeinput.parse_int(TWENTY_FIVE_DIGITS) is None
    assert safeinput.parse_int(" 42 ") == 42 and safeinput.parse_int("-1") is None
