"""Replays of transcripts recorded through the sandbox's Assistants API, in every state mode."""

from __future__ import annotations

import copy

import pytest

from migrator.core.actors import SYSTEM
from migrator.core.services import ServiceError
from migrator.validation.models import TestSet, Verdict
from migrator.validation.services import runs as run_services
from migrator.validation.services import testsets as set_services
from tests.validation.recording import make_flow

pytestmark = pytest.mark.django_db


def _set(rec, flow=None, **kw) -> TestSet:
    return set_services.create_test_set(actor=SYSTEM, assistant_id=rec.assistant.pk, flow_id=flow.pk if flow else None,
                                        name="replay", strategy=kw.pop("strategy", "recent"), sample_size=10, **kw)


def _run(rec, test_set, *, config=None, mode="", repeats=1):
    run = run_services.create_run(actor=SYSTEM, test_set=test_set, connection=rec.connection,
                                  config=config or dict(rec.version.config), config_label="test",
                                  prompt_version=None if config else rec.version, mode=mode, repeats=repeats,
                                  concurrency=3, source="test")
    return run_services.execute_run(run_id=run.pk, actor=SYSTEM)


def _points(run) -> dict[str, dict]:
    return {p["key"]: p for p in run.points}


def test_cases_carry_recorded_history_answers_and_tool_outputs(weather):
    test_set = _set(weather)
    cases = {c.key: c for c in test_set.current_version.cases()}
    assert len(cases) == 7  # 3 + 3 + 1 answered user turns
    paris = next(c for c in cases.values() if c.input_text == "use get_weather city: Paris")
    assert paris.turn == 2
    assert next(i["text"] for i in paris.history if i["type"] == "message") == "Hi, my name is Ada."
    assert paris.expected_tool_calls[0]["name"] == "get_weather"
    assert paris.expected_tool_calls[0]["output"] == '{"temp_c": 21, "sky": "clear"}'
    assert paris.expected_text.startswith("Thanks, get_weather returned")
    last = next(c for c in cases.values() if c.input_text == "what is my name?")
    kinds = [i["type"] for i in last.history]
    assert kinds == ["message", "message", "message", "function_call", "function_call_output", "message"]
    assert test_set.sample_thread_id == weather.thread_ids[0] or test_set.sample_thread_id == weather.thread_ids[1]


@pytest.mark.parametrize("mode", ["stateless", "conversation", "previous_response"])
def test_faithful_conversion_passes_in_every_mode(weather, mode):
    flow = make_flow(weather.assistant, mode=mode)
    run = _run(weather, _set(weather, flow))
    assert run.verdict == Verdict.PASS, (run.summary, [(r.case.key, r.reasons) for r in run.results.all()])
    points = _points(run)
    assert [p["key"] for p in run.points] == ["new_chat", "state", "tools", "workflow", "contract"] or len(points) == 5
    assert points["new_chat"]["status"] == "pass"
    assert points["state"]["status"] == "pass"
    assert points["tools"]["status"] == "pass"
    assert points["workflow"]["status"] == "pass"
    assert points["contract"]["status"] == "not_applicable"
    assert run.cases_passed == 7 and run.cases_failed == 0
    assert all(r.score > 0.99 for r in run.results.all())
    assert run.mode == mode and run.config_hash
    assert run_services.is_stale(run) == ""


def test_removed_tool_fails_exactly_the_tool_cases_and_names_it(weather):
    config = copy.deepcopy(weather.version.config)
    config["tools"] = [t for t in config["tools"] if t.get("name") != "get_forecast"]
    run = _run(weather, _set(weather), config=config, mode="stateless")
    assert run.verdict == Verdict.FAIL
    failing = {r.case.key for r in run.results.filter(verdict=Verdict.FAIL)}
    forecast_cases = {c.key for c in run.test_set.cases.all() if "get_forecast" in c.tool_names}
    assert failing == forecast_cases and len(forecast_cases) == 1
    result = run.results.get(verdict=Verdict.FAIL)
    assert any("get_forecast was not called" in reason for reason in result.reasons)
    tools = _points(run)["tools"]
    assert tools["status"] == "fail" and "get_forecast" in tools["detail"] and tools["missed"] == ["get_forecast"]
    # A missing tool call is the tools point's finding: the state point does not blame the state for it.
    assert "get_forecast" not in _points(run)["state"]["detail"]
    assert "_" not in _points(run)["state"]["detail"].split(" in ")[-1]  # the mode in words, not its raw value


def test_chaining_without_store_fails_the_state_point(weather):
    flow = make_flow(weather.assistant, mode="previous_response", store=False)
    run = _run(weather, _set(weather, flow))
    assert run.verdict == Verdict.FAIL
    state = _points(run)["state"]
    assert state["status"] == "fail"
    assert "previous" in state["detail"].lower()


def test_dropped_output_schema_fails_the_contract_point(invoices):
    faithful = _run(invoices, _set(invoices), mode="stateless")
    assert faithful.verdict == Verdict.PASS, faithful.summary
    assert _points(faithful)["contract"]["status"] == "pass"
    config = copy.deepcopy(invoices.version.config)
    config.pop("text", None)
    run = _run(invoices, _set(invoices), config=config, mode="stateless")
    assert run.verdict == Verdict.FAIL
    contract = _points(run)["contract"]
    assert contract["status"] == "fail" and "invoice" in contract["detail"]
    assert all(r.verdict == Verdict.FAIL for r in run.results.all())


def test_unrecorded_call_is_flagged_not_invented(weather):
    test_set = _set(weather)
    set_services.add_manual_case(actor=SYSTEM, test_set_id=test_set.pk, input_text="use get_weather city: Rome",
                                 expectations=[{"type": "contains", "value": "Rome"}])
    run = _run(weather, test_set, mode="stateless")
    manual = run.results.get(case__key="manual-1")
    assert manual.verdict == Verdict.FAIL
    assert manual.unmatched_calls == [{"name": "get_weather", "arguments": '{"city": "Rome"}'}]
    assert manual.answer_text == ""
    assert any("no recorded output" in r for r in manual.reasons)


def test_repeats_and_case_versions(weather):
    test_set = _set(weather)
    v1 = test_set.current_version
    hello = test_set.cases.get(key__endswith="#1", thread_legacy_id=weather.thread_ids[2])
    v2 = set_services.exclude_cases(actor=SYSTEM, test_set_id=test_set.pk, case_ids=[hello.pk], reason="greeting")
    assert v2.number == 2 and hello.pk not in v2.case_ids and v2.excluded == {hello.key: "greeting"}
    run = _run(weather, test_set, mode="conversation", repeats=2)
    assert run.test_set_version_id == v2.pk and run.case_ids == v2.case_ids
    assert run.results.count() == 2 * len(v2.case_ids)
    assert run.totals["flaky"] == []
    v3 = set_services.include_cases(actor=SYSTEM, test_set_id=test_set.pk, case_keys=[hello.key])
    assert set(v3.case_ids) == set(v1.case_ids)


def test_evidence_is_bound_to_config_hash_and_mode(weather):
    from migrator.prompts.services import save_edit

    flow = make_flow(weather.assistant, mode="stateless")
    assert run_services.evidence(flow) is None
    run = _run(weather, _set(weather, flow))
    found = run_services.evidence(flow)
    assert found["run_id"] == run.pk and found["verdict"] == "pass"
    assert [p["key"] for p in found["points"]] == [p["key"] for p in run.points]
    assert found["url"] == f"/validation/runs/{run.pk}/"
    flow.mode = "conversation"
    flow.save()
    assert run_services.evidence(flow) is None
    assert "state mode changed" in run_services.is_stale(run)
    flow.mode = "stateless"
    flow.save()
    save_edit(parent_id=weather.version.pk, actor=SYSTEM, instructions="Be terse about the weather.")
    assert run_services.evidence(flow) is None
    assert "configuration changed" in run_services.is_stale(run)


def test_a_passing_run_of_the_current_configuration_validates_the_flow(weather):
    from migrator.core.services import status as status_service
    from migrator.prompts.services import approve_version

    if not hasattr(status_service, "apply_outcome"):
        pytest.skip("the status contract (apply_outcome) is not on this branch yet")
    approve_version(version_id=weather.version.pk, actor=SYSTEM)
    flow = make_flow(weather.assistant, mode="stateless")
    assert flow.status == "planning"
    config = copy.deepcopy(weather.version.config)
    config["tools"] = config["tools"][:1]
    _run(weather, _set(weather, flow), config=config)  # another configuration: moves nothing
    flow.refresh_from_db()
    assert flow.status == "planning"
    other_mode = _run(weather, _set(weather, flow), mode="conversation")  # not the flow's mode: moves nothing
    assert other_mode.verdict == Verdict.PASS and run_services.is_stale(other_mode)
    flow.refresh_from_db()
    assert flow.status == "planning"
    passed = _run(weather, _set(weather, flow))
    assert passed.verdict == Verdict.PASS
    flow.refresh_from_db()
    weather.assistant.refresh_from_db()
    assert flow.status == "validated" and weather.assistant.status == "validated"
    change = flow.status_changes.first()
    assert f"#{passed.pk}" in change.reason and passed.config_hash[:12] in change.reason
    # Break the flow itself (chaining without store) so a run of the same configuration fails.
    flow.mode, flow.store = "previous_response", False
    flow.save()
    failing = _run(weather, _set(weather, flow))
    assert failing.verdict == Verdict.FAIL
    flow.refresh_from_db()
    assert flow.status == "planning"


def test_cutover_evidence_provider(weather):
    from migrator.cutover import evidence as ev
    from migrator.prompts.services import approve_version

    approve_version(version_id=weather.version.pk, actor=SYSTEM)
    flow = make_flow(weather.assistant, mode="conversation")
    item = next(i for i in ev.gather(flow, weather.version) if i.key == "validation")
    assert item.state == ev.State.MISSING
    run = _run(weather, _set(weather, flow))
    item = next(i for i in ev.gather(flow, weather.version) if i.key == "validation")
    assert item.state == ev.State.PASSED and item.details["run_id"] == run.pk and item.url == run.get_absolute_url()


def test_sampling_strategies(weather, invoices):
    def threads(rec, strategy, size=10, **kw):
        test_set = set_services.create_test_set(actor=SYSTEM, assistant_id=rec.assistant.pk, name=strategy,
                                                strategy=strategy, sample_size=size, **kw)
        return {c.thread_legacy_id for c in test_set.current_version.cases()}

    a, b, c = weather.thread_ids
    assert threads(weather, "tools") == {a, b}
    assert threads(weather, "recent", 1) == {c}
    assert len(threads(weather, "traffic", 2)) == 2 and c not in threads(weather, "traffic", 2)
    assert threads(weather, "stratified", 3) == {a, b, c}
    assert threads(weather, "hand_picked", thread_ids=[c, a]) == {a, c}
    assert threads(invoices, "structured") == set(invoices.thread_ids)
    with pytest.raises(ServiceError, match="No recorded assistant turn"):
        threads(weather, "structured")
    with pytest.raises(ServiceError, match="belong to another assistant"):
        threads(weather, "hand_picked", thread_ids=[invoices.thread_ids[0]])


def test_hosted_tools_run_live_on_the_connection(weather):
    test_set = _set(weather)
    set_services.add_manual_case(actor=SYSTEM, test_set_id=test_set.pk, input_text="please calculate 6*7",
                                 expectations=[{"type": "contains", "value": "42"}])
    config = copy.deepcopy(weather.version.config)
    config["tools"] = [*config["tools"], {"type": "code_interpreter", "container": {"type": "auto"}}]
    run = _run(weather, test_set, config=config, mode="stateless")
    manual = run.results.get(case__key="manual-1")
    assert manual.live_tools == ["code_interpreter"] and manual.verdict == Verdict.PASS, manual.reasons


def test_a_flow_draws_the_threads_tagged_with_its_slug(weather):
    from migrator.inventory.models import LegacyThread

    flow = make_flow(weather.assistant, mode="stateless", slug="forecasts")
    untagged = _set(weather, flow)
    assert {c.thread_legacy_id for c in untagged.current_version.cases()} == set(weather.thread_ids)
    LegacyThread.objects.filter(legacy_id=weather.thread_ids[1]).update(flow_slug="forecasts")
    tagged = _set(weather, flow)
    assert {c.thread_legacy_id for c in tagged.current_version.cases()} == {weather.thread_ids[1]}


def test_redraw_keeps_unchanged_cases_and_exclusions(weather, sandbox_empty):
    from migrator.inventory.services.imports import import_from_connection
    from tests.validation.recording import _record

    test_set = _set(weather)
    v1 = test_set.current_version
    first = v1.cases()[0]
    set_services.exclude_cases(actor=SYSTEM, test_set_id=test_set.pk, case_ids=[first.pk], reason="noise")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        new_thread = _record(sandbox_empty.client(), weather.assistant.legacy_id, ["use get_weather city: Rome"])
    import_from_connection(connection=weather.connection, actor=SYSTEM, thread_ids=[new_thread])
    v3 = set_services.redraw(actor=SYSTEM, test_set_id=test_set.pk)
    assert v3.number == 3 and "1 new or changed case(s)" in v3.message
    assert first.pk not in v3.case_ids and first.key in v3.excluded
    assert set(v1.case_ids) - {first.pk} <= set(v3.case_ids) and len(v3.case_ids) == len(v1.case_ids)


def test_diagnostics_providers_read_the_latest_run(weather):
    from migrator.core.diagnostics import get_provider

    flow = make_flow(weather.assistant, mode="stateless")
    assert get_provider("validation.latest_run")(flow) is None
    run = _run(weather, _set(weather, flow))
    latest = get_provider("validation.latest_run")(flow)
    assert latest["id"] == run.pk and latest["mode"] == "stateless" and latest["url"] == run.get_absolute_url()
    lowest = get_provider("validation.lowest_similarity")(flow)
    assert len(lowest) == 7 and lowest[0]["similarity"] <= lowest[-1]["similarity"] <= 1
    assert {(row["threshold"], row["verdict"]) for row in lowest} <= {(0.6, "pass"), (0.6, "fail")}
    assert len(get_provider("validation.answer_lengths")(flow)) == 7
    assert all(s >= 0 for s in get_provider("validation.latencies")(flow))


def test_diagnostics_judge_the_candidate_by_its_own_runs_only(weather):
    """A cutover request for v2 is not vouched for by a run of v1: its validation-backed checks are unknown (so
    the diagnostics evidence is incomplete) until v2 itself is replayed."""
    from migrator.core import diagnostics as registry
    from migrator.prompts.models import PromptVersion

    flow = make_flow(weather.assistant, mode="stateless")
    _run(weather, _set(weather, flow))
    v2 = PromptVersion.objects.create(assistant=weather.assistant, number=weather.version.number + 1,
                                      parent=weather.version, config={**weather.version.config,
                                                                      "instructions": "Answer in French."})
    results = {r.key: r for r in registry.run_flow(flow, version=v2)}
    assert results["outputs_validation"].status == registry.UNKNOWN
    assert registry.get_provider("validation.latest_run")(flow) is None
    results = {r.key: r for r in registry.run_flow(flow, version=weather.version)}
    assert results["outputs_validation"].status != registry.UNKNOWN
