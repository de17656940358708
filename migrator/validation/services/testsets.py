"""Building and editing test sets. Cases are immutable; every edit makes a new test set version."""

from __future__ import annotations

import math
from typing import Any

from django.db import transaction

from migrator.core.actors import require, user_or_none
from migrator.core.models import Assistant, Flow
from migrator.core.services import ServiceError, audit
from migrator.validation.cases import cases_from_thread, contract_of, sample_threads
from migrator.validation.checks import CHECKS_BY_NAME
from migrator.validation.models import CaseKind, SamplingStrategy, TestCase, TestSet, TestSetVersion

EXPECTATION_TYPES = ("exact", "contains", "not_contains", "regex")
MAX_CASES = 5000


def _new_version(*, test_set: TestSet, case_ids: list[int], excluded: dict[str, str], message: str,
                 actor) -> TestSetVersion:
    last = test_set.versions.order_by("-number").first()
    return TestSetVersion.objects.create(
        test_set=test_set, number=(last.number + 1) if last else 1, case_ids=case_ids, excluded=excluded,
        message=message[:300], created_by=user_or_none(actor),
    )


def create_test_set(*, actor, assistant_id: int, name: str, strategy: str = SamplingStrategy.RECENT,
                    sample_size: int = 20, flow_id: int | None = None, thread_ids: list[str] | None = None,
                    sample_thread_id: str = "", description: str = "") -> TestSet:
    """Draw threads by ``strategy`` and turn every answered assistant turn into a case (version 1)."""
    require(actor, "validation.add_testset", action="build test sets")
    name = (name or "").strip()
    if not name:
        raise ServiceError("Give the test set a name.")
    if strategy not in SamplingStrategy.values:
        raise ServiceError(f"Unknown sampling strategy {strategy!r}; choose one of {', '.join(SamplingStrategy.values)}.")
    if not 1 <= int(sample_size or 0) <= 1000:
        raise ServiceError("Sample size must be between 1 and 1000 threads.")
    assistant = Assistant.objects.filter(pk=assistant_id).first()
    if assistant is None:
        raise ServiceError(f"Assistant #{assistant_id} does not exist.")
    flow = None
    if flow_id:
        flow = Flow.objects.filter(pk=flow_id, assistant=assistant).first()
        if flow is None:
            raise ServiceError(f"Flow #{flow_id} is not a flow of {assistant.display_name}.")
    threads = sample_threads(assistant=assistant, flow=flow, strategy=strategy, size=sample_size,
                             thread_ids=thread_ids or [])
    drafts = [case for thread in threads for case in cases_from_thread(thread)]
    if not drafts:
        raise ServiceError(f"No recorded assistant turn answers a user turn in the {len(threads)} thread(s) drawn "
                           f"for {assistant.display_name}: import its threads first, or pick other threads.")
    if len(drafts) > MAX_CASES:
        raise ServiceError(f"{len(drafts)} cases is more than {MAX_CASES}; draw fewer threads.")
    turns: dict[str, int] = {}
    for case in drafts:
        turns[case.thread_legacy_id] = max(turns.get(case.thread_legacy_id, 0), case.turn)
    if sample_thread_id and sample_thread_id not in turns:
        raise ServiceError(f"The sample workflow thread {sample_thread_id} is not among the drawn threads.")
    if not sample_thread_id:
        # The longest drawn thread that calls tools stands for "one sample production workflow", else the longest.
        with_tools = {c.thread_legacy_id for c in drafts if c.expected_tool_calls}
        sample_thread_id = max(turns, key=lambda t: (turns[t] > 1, t in with_tools, turns[t], t))
    with transaction.atomic():
        test_set = TestSet.objects.create(
            assistant=assistant, flow=flow, name=name[:200], description=description, strategy=strategy,
            sample_size=sample_size, thread_ids=list(thread_ids or []), sample_thread_id=sample_thread_id,
            contract=contract_of(assistant), created_by=user_or_none(actor),
        )
        rows = TestCase.objects.bulk_create([
            TestCase(test_set=test_set, key=d.key, kind=CaseKind.RECORDED, thread_id=d.thread_pk,
                     thread_legacy_id=d.thread_legacy_id, turn=d.turn, history=d.history, user_input=d.user_input,
                     expected_text=d.expected_text, expected_tool_calls=d.expected_tool_calls,
                     hosted_tools=d.hosted_tools, expected_json=d.expected_json, note="; ".join(d.notes),
                     created_by=user_or_none(actor))
            for d in drafts
        ])
        if any(r.pk is None for r in rows):  # backends without RETURNING on bulk insert
            rows = list(test_set.cases.order_by("id"))
        version = _new_version(test_set=test_set, case_ids=[r.pk for r in rows], excluded={},
                               message=f"{len(rows)} cases from {len(threads)} threads "
                                       f"({SamplingStrategy(strategy).label.lower()})", actor=actor)
        audit.record(actor=actor, verb="migrator.validation.testset_created", obj=test_set,
                     after={"cases": len(rows), "threads": len(threads), "strategy": strategy},
                     data={"version": version.number, "assistant_id": assistant.pk})
    return test_set


def _locked(test_set_id: int) -> TestSet:
    test_set = TestSet.objects.select_for_update().filter(pk=test_set_id).first()
    if test_set is None:
        raise ServiceError(f"Test set #{test_set_id} does not exist.")
    return test_set


def exclude_cases(*, actor, test_set_id: int, case_ids: list[int], reason: str) -> TestSetVersion:
    require(actor, "validation.change_testset", action="edit test sets")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why these cases are excluded (the reason stays with the version).")
    with transaction.atomic():
        test_set = _locked(test_set_id)
        current = test_set.current_version
        ids = [int(i) for i in case_ids]
        unknown = [i for i in ids if i not in current.case_ids]
        if unknown or not ids:
            raise ServiceError("Choose cases of the current version to exclude." if not ids else
                               f"Case(s) {', '.join(map(str, unknown[:5]))} are not in version {current.number}.")
        keys = dict(TestCase.objects.filter(pk__in=ids).values_list("pk", "key"))
        remaining = [i for i in current.case_ids if i not in ids]
        excluded = {**current.excluded, **{keys[i]: reason[:300] for i in ids}}
        version = _new_version(test_set=test_set, case_ids=remaining, excluded=excluded, actor=actor,
                               message=f"Excluded {len(ids)} case(s): {reason}")
        test_set.save(update_fields=["updated_at"])
        audit.record(actor=actor, verb="migrator.validation.cases_excluded", obj=test_set,
                     data={"version": version.number, "cases": [keys[i] for i in ids], "reason": reason})
    return version


def include_cases(*, actor, test_set_id: int, case_keys: list[str]) -> TestSetVersion:
    """Bring excluded cases back (the newest case of each key)."""
    require(actor, "validation.change_testset", action="edit test sets")
    with transaction.atomic():
        test_set = _locked(test_set_id)
        current = test_set.current_version
        keys = [k for k in case_keys if k in current.excluded]
        if not keys:
            raise ServiceError("None of those cases is excluded.")
        by_key = {c.key: c.pk for c in test_set.cases.filter(key__in=keys).order_by("id")}
        version = _new_version(test_set=test_set, case_ids=[*current.case_ids, *by_key.values()],
                               excluded={k: v for k, v in current.excluded.items() if k not in keys}, actor=actor,
                               message=f"Included {len(keys)} case(s) again")
        test_set.save(update_fields=["updated_at"])
        audit.record(actor=actor, verb="migrator.validation.cases_included", obj=test_set,
                     data={"version": version.number, "cases": keys})
    return version


def parse_expectations(lines: str) -> list[dict[str, str]]:
    """``contains: refund`` / ``regex: ^\\{`` / ``exact: Hello`` / ``not_contains: sorry``, one a line."""
    out = []
    for number, raw in enumerate((lines or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        kind, sep, value = line.partition(":")
        kind = kind.strip().lower().replace(" ", "_")
        if not sep or kind not in EXPECTATION_TYPES or not value.strip():
            raise ServiceError(f"Expectation line {number} ({line[:60]!r}) should read 'TYPE: value' with TYPE one "
                               f"of {', '.join(EXPECTATION_TYPES)}.")
        value = value.strip()
        if kind == "regex":
            import re

            try:
                re.compile(value)
            except re.error as exc:
                raise ServiceError(f"Expectation line {number}: the regular expression is invalid ({exc}).") from exc
        out.append({"type": kind, "value": value})
    return out


def add_manual_case(*, actor, test_set_id: int, input_text: str, expected_text: str = "",
                    expectations: list[dict[str, str]] | None = None, note: str = "") -> TestCase:
    require(actor, "validation.change_testset", action="edit test sets")
    input_text = (input_text or "").strip()
    if not input_text:
        raise ServiceError("A hand-written case needs the user's message.")
    expectations = expectations or []
    if not expectations and not (expected_text or "").strip():
        raise ServiceError("Say what a good answer is: an expected answer, expectations, or both.")
    with transaction.atomic():
        test_set = _locked(test_set_id)
        number = test_set.cases.filter(kind=CaseKind.MANUAL).count() + 1
        from migrator.validation.cases import parse_json

        ok, value = parse_json(expected_text)
        case = TestCase.objects.create(
            test_set=test_set, key=f"manual-{number}", kind=CaseKind.MANUAL, turn=1, history=[],
            user_input=[{"type": "message", "role": "user", "text": input_text}],
            expected_text=(expected_text or "").strip(), expected_json=value if ok else None,
            expectations=expectations, note=note, created_by=user_or_none(actor),
        )
        current = test_set.current_version
        version = _new_version(test_set=test_set, case_ids=[*current.case_ids, case.pk], excluded=current.excluded,
                               message=f"Added hand-written case {case.key}", actor=actor)
        test_set.save(update_fields=["updated_at"])
        audit.record(actor=actor, verb="migrator.validation.case_added", obj=test_set,
                     data={"version": version.number, "case": case.key})
    return case


def set_checks(*, actor, test_set_id: int, checks: dict[str, dict[str, Any]]) -> TestSet:
    """Thresholds, weights, blocking flags and switches of the checks this test set's runs use."""
    require(actor, "validation.change_testset", action="edit test sets")
    clean: dict[str, dict[str, Any]] = {}
    for name, values in (checks or {}).items():
        if name not in CHECKS_BY_NAME and name != "_case_threshold":
            raise ServiceError(f"Unknown check {name!r}.")
        if not isinstance(values, dict):
            raise ServiceError(f"Settings of {name} must be an object.")
        entry: dict[str, Any] = {}
        for key, value in values.items():
            if key in ("threshold", "weight", "value"):
                if value in (None, ""):
                    entry[key] = None
                    continue
                try:
                    entry[key] = float(value)
                except (TypeError, ValueError, OverflowError) as exc:
                    raise ServiceError(f"{name}: {key} must be a number, not {str(value)[:40]!r}.") from exc
                if not math.isfinite(entry[key]):
                    # NaN and 1e999 (infinity) cannot be stored as JSON (PostgreSQL refuses them) nor compared.
                    raise ServiceError(f"{name}: {key} must be a finite number, not {str(value)[:40]!r}.")
                if entry[key] < 0:
                    raise ServiceError(f"{name}: {key} cannot be negative.")
            elif key in ("blocking", "enabled"):
                entry[key] = bool(value)
            elif key in ("mode", "rubric", "model"):
                if key == "mode" and value not in ("partial", "exact"):
                    raise ServiceError(f"{name}: mode is 'partial' or 'exact'.")
                entry[key] = str(value)[:4000]
            else:
                raise ServiceError(f"{name}: unknown setting {key!r}.")
        clean[name] = entry
    with transaction.atomic():
        test_set = _locked(test_set_id)
        before = test_set.checks
        test_set.checks = clean
        test_set.save(update_fields=["checks", "updated_at"])
        audit.record(actor=actor, verb="migrator.validation.checks_changed", obj=test_set, before=before, after=clean)
    return test_set


def redraw(*, actor, test_set_id: int) -> TestSetVersion:
    """Draw the threads again (new imports count) into a new version. Unchanged turns keep their case, changed
    or new turns become new cases, and cases excluded before stay excluded."""
    require(actor, "validation.change_testset", action="edit test sets")
    with transaction.atomic():
        test_set = _locked(test_set_id)
        current = test_set.current_version
        threads = sample_threads(assistant=test_set.assistant, flow=test_set.flow, strategy=test_set.strategy,
                                 size=test_set.sample_size, thread_ids=test_set.thread_ids)
        drafts = [case for thread in threads for case in cases_from_thread(thread)]
        existing: dict[str, TestCase] = {}
        for case in test_set.cases.filter(kind=CaseKind.RECORDED).order_by("id"):
            existing[case.key] = case  # the newest case of each key wins
        ids: list[int] = []
        added = 0
        for d in drafts:
            same = existing.get(d.key)
            if same is not None and (same.history, same.user_input, same.expected_text, same.expected_tool_calls) == (
                    d.history, d.user_input, d.expected_text, d.expected_tool_calls):
                case = same
            else:
                case = TestCase.objects.create(
                    test_set=test_set, key=d.key, kind=CaseKind.RECORDED, thread_id=d.thread_pk,
                    thread_legacy_id=d.thread_legacy_id, turn=d.turn, history=d.history, user_input=d.user_input,
                    expected_text=d.expected_text, expected_tool_calls=d.expected_tool_calls,
                    hosted_tools=d.hosted_tools, expected_json=d.expected_json, note="; ".join(d.notes),
                    created_by=user_or_none(actor))
                added += 1
            if case.key not in current.excluded:
                ids.append(case.pk)
        manual = [i for i in current.case_ids if i in set(test_set.cases.filter(kind=CaseKind.MANUAL)
                                                             .values_list("pk", flat=True))]
        before = set(current.case_ids)
        gone = len([i for i in before if i not in ids and i not in manual])
        version = _new_version(test_set=test_set, case_ids=[*ids, *manual], excluded=current.excluded, actor=actor,
                               message=f"Redrawn from {len(threads)} threads: {added} new or changed case(s), "
                                       f"{gone} gone")
        test_set.save(update_fields=["updated_at"])
        audit.record(actor=actor, verb="migrator.validation.testset_redrawn", obj=test_set,
                     data={"version": version.number, "added": added, "gone": gone})
    return version
