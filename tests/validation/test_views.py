"""Pages: build a test set, start a run (a job), read the report, a case, a comparison, the trend, exports."""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile

import pytest
import yaml
from django.urls import reverse

from migrator.core.actors import SYSTEM
from migrator.validation.models import TestSet, ValidationRun
from migrator.validation.services import runs as run_services
from tests.validation.recording import make_flow

pytestmark = pytest.mark.django_db


def _build(client, rec, flow=None) -> TestSet:
    data = {"assistant": rec.assistant.pk, "name": "Weather replay", "strategy": "stratified", "sample_size": 10,
            "thread_ids": "", "sample_thread_id": ""}
    if flow is not None:
        data["flow"] = flow.pk
    response = client.post(reverse("validation:testset_new"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return TestSet.objects.get(name="Weather replay")


def test_engineer_builds_runs_and_reads_the_report(client, engineer, weather, run_queued_jobs):
    client.force_login(engineer)
    flow = make_flow(weather.assistant, mode="conversation")
    test_set = _build(client, weather, flow)
    page = client.get(test_set.get_absolute_url())
    assert page.status_code == 200 and b"Start validation run" in page.content
    response = client.post(reverse("validation:run_start", args=[test_set.pk]),
                           {"connection": weather.connection.pk, "repeats": 1, "concurrency": 2, "mode": ""})
    run = ValidationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    live = client.get(reverse("validation:run_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert live.status_code == 200 and b"Replaying" in live.content
    run_queued_jobs()
    run.refresh_from_db()
    assert run.verdict == "pass" and run.mode == "conversation"
    done = client.get(reverse("validation:run_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert done.status_code == 286 and b"State persists where expected" in done.content  # the report, no more polling
    assert b"hx-trigger" not in done.content
    report = client.get(run.get_absolute_url()).content.decode()
    for title in ("A new chat completes end to end", "State persists where expected",
                  "Every required tool call still works", "Structured outputs match the contract",
                  "One sample production workflow succeeds"):
        assert title in report
    case = run.results.first().case
    detail = client.get(reverse("validation:case_result", args=[run.pk, case.pk]))
    assert detail.status_code == 200 and b"Recorded answer" in detail.content


def test_failing_check_filter_compare_and_trend(client, engineer, weather):
    client.force_login(engineer)
    flow = make_flow(weather.assistant, mode="stateless")
    test_set = _build(client, weather, flow)
    good = run_services.create_run(actor=SYSTEM, test_set=test_set, connection=weather.connection,
                                   config=dict(weather.version.config), config_label="v1",
                                   prompt_version=weather.version)
    run_services.execute_run(run_id=good.pk, actor=SYSTEM)
    config = copy.deepcopy(weather.version.config)
    config["tools"] = [t for t in config["tools"] if t.get("name") != "get_weather"]
    bad = run_services.create_run(actor=SYSTEM, test_set=test_set, connection=weather.connection, config=config,
                                  config_label="no weather tool")
    run_services.execute_run(run_id=bad.pk, actor=SYSTEM)
    report = client.get(bad.get_absolute_url() + "?check=tool_names").content.decode()
    assert "regression" in report and "get_weather was not called" in report
    assert report.count('data-verdict="fail"') == 1
    compared = client.get(reverse("validation:compare") + f"?a={good.pk}&b={bad.pk}").content.decode()
    assert 'data-change="regression"' in compared
    trend = client.get(reverse("validation:flow_trend", args=[flow.slug]))
    assert trend.status_code == 200 and f"Run {bad.pk}:" in trend.content.decode()
    # Each bar is an SVG rectangle 2 % taller than its pass rate, standing on the bottom (no style attribute).
    bars = re.findall(r'<rect y="(-?\d+)%" width="100%" height="(\d+)%"/>', trend.content.decode())
    assert len(bars) == 2 and all(int(top) + int(height) == 100 for top, height in bars)
    assert bars[0] == ("-2", "102")  # the good run: every case passes
    tab = client.get(reverse("validation:assistant_validation", args=[weather.assistant.pk])).content.decode()
    assert f"run #{good.pk}" in tab  # the passing run of the current configuration is the flow's evidence


def test_exports(client, engineer, weather):
    client.force_login(engineer)
    test_set = _build(client, weather)
    run = run_services.create_run(actor=SYSTEM, test_set=test_set, connection=weather.connection,
                                  config=dict(weather.version.config), config_label="v1")
    run_services.execute_run(run_id=run.pk, actor=SYSTEM)
    bundle = client.get(reverse("validation:export_run_promptfoo", args=[run.pk]))
    archive = zipfile.ZipFile(io.BytesIO(bundle.content))
    assert set(archive.namelist()) == {"promptfooconfig.yaml", "provider.py", "assert_case.py", "migrator_replay.py",
                                       "migrator_checks.py", "checks.json", "release.json", "cases.jsonl",
                                       "README.md"}
    document = yaml.safe_load(archive.read("promptfooconfig.yaml"))
    assert [p["id"] for p in document["providers"]] == ["file://provider.py"]
    assert len(document["tests"]) == len(run.case_ids)
    assert all(t["assert"] == [{"type": "python", "value": "file://assert_case.py", "metric": "migrator_verdict"}]
               for t in document["tests"])
    for name in ("provider.py", "assert_case.py", "migrator_replay.py", "migrator_checks.py"):
        compile(archive.read(name), name, "exec")
    assert json.loads(archive.read("release.json"))["hash"] == run.release_hash
    test_set_bundle = client.get(reverse("validation:export_promptfoo", args=[test_set.pk]))
    assert "assert_case.py" in zipfile.ZipFile(io.BytesIO(test_set_bundle.content)).namelist()
    lines = client.get(reverse("validation:export_run_jsonl", args=[run.pk])).content.decode().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == len(run.case_ids) and rows[0]["results"][0]["verdict"] == "pass"
    plain = client.get(reverse("validation:export_jsonl", args=[test_set.pk])).content.decode().splitlines()
    assert len(plain) == len(rows) and "results" not in json.loads(plain[0])


def test_roles_read_but_only_engineers_build_or_run(client, product_owner, weather):
    client.force_login(product_owner)
    response = client.post(reverse("validation:testset_new"), {"assistant": weather.assistant.pk, "name": "x",
                                                               "strategy": "recent", "sample_size": 5})
    assert response.status_code == 403
    from migrator.validation.services import testsets

    test_set = testsets.create_test_set(actor=SYSTEM, assistant_id=weather.assistant.pk, name="s")
    assert client.get(test_set.get_absolute_url()).status_code == 200
    assert b"Engineers run validations" in client.get(test_set.get_absolute_url()).content
    started = client.post(reverse("validation:run_start", args=[test_set.pk]),
                          {"connection": weather.connection.pk, "repeats": 1, "concurrency": 1})
    assert started.status_code == 403 and not ValidationRun.objects.exists()
    assert client.get(reverse("validation:list")).status_code == 200


@pytest.mark.parametrize("data, message", [
    ({"strategy": "hand_picked", "thread_ids": ""}, "List the threads to pick"),
    ({"strategy": "hand_picked", "thread_ids": "thread_nope"}, "Unknown thread id(s): thread_nope"),
    ({"sample_thread_id": "thread_other"}, "is not among the drawn threads"),
    ({"sample_size": 0}, "greater than or equal to 1"),
])
def test_bad_input_says_what_and_where(client, engineer, weather, data, message):
    client.force_login(engineer)
    form = {"assistant": weather.assistant.pk, "name": "s", "strategy": "recent", "sample_size": 5, **data}
    response = client.post(reverse("validation:testset_new"), form)
    assert response.status_code == 422 and message in response.content.decode()
    assert not TestSet.objects.exists()


def test_manual_case_exclusion_and_checks_forms(client, engineer, weather):
    client.force_login(engineer)
    test_set = _build(client, weather)
    bad = client.post(reverse("validation:case_new", args=[test_set.pk]),
                      {"input_text": "hi", "expectations": "looks: nice"})
    assert bad.status_code == 422 and "should read &#x27;TYPE: value&#x27;" in bad.content.decode()
    client.post(reverse("validation:case_new", args=[test_set.pk]),
                {"input_text": "hello", "expectations": "contains: hello"})
    test_set.refresh_from_db()
    assert test_set.current_version.number == 2 and test_set.cases.filter(kind="manual").count() == 1
    first = test_set.current_version.case_ids[0]
    client.post(reverse("validation:testset_exclude", args=[test_set.pk]), {"case": [first], "reason": "noisy"})
    assert first not in test_set.current_version.case_ids
    response = client.post(reverse("validation:testset_checks", args=[test_set.pk]),
                           {"text_similarity-enabled": "on", "text_similarity-threshold": "abc"}, follow=True)
    assert "threshold must be a number" in response.content.decode()
    client.post(reverse("validation:testset_checks", args=[test_set.pk]),
                {"text_similarity-enabled": "on", "text_similarity-blocking": "on",
                 "text_similarity-threshold": "0.9", "text_similarity-weight": "3", "case_threshold": "0.8"})
    test_set.refresh_from_db()
    assert test_set.checks["text_similarity"] == {"enabled": True, "blocking": True, "threshold": 0.9, "weight": 3.0}


@pytest.mark.parametrize("junk", ["NaN", "1e999", "-inf", "Infinity"])
def test_a_case_threshold_of_nan_or_infinity_is_refused_with_a_message_not_stored(client, engineer, weather, junk):
    """Issue 21, finding 10 (NaN/1e999 reached the JSON column: a DataError, a 500 on PostgreSQL)."""
    client.force_login(engineer)
    test_set = _build(client, weather)
    before = test_set.checks
    response = client.post(reverse("validation:testset_checks", args=[test_set.pk]),
                           {"text_similarity-enabled": "on", "text_similarity-threshold": "0.8",
                            "case_threshold": junk}, follow=True)
    assert response.status_code == 200
    assert "_case_threshold: value must be a finite number" in response.content.decode()
    test_set.refresh_from_db()
    assert test_set.checks == before
