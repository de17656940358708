"""Hostile archives (issue 15): nesting, huge numbers and strings, garbage first lines, and the per-archive
limits. Each refusal is located and costs only its own object; nothing raises out of the import."""

from __future__ import annotations

import gzip
import json

import pytest

from migrator.core.models import Assistant
from migrator.inventory.archive.reader import ArchiveReader, Problem, Record
from migrator.inventory.models import LegacyMessage
from migrator.inventory.services.imports import import_archive
from tests.inventory import archives as a

pytestmark = pytest.mark.django_db


def _errors(report) -> list[tuple[str, str]]:
    return [(e["where"], e["message"]) for e in report.to_dict()["errors"]]


def _deep(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def _assistant_json(n: int, extra: str = "") -> str:
    body = json.dumps(a.assistant(n))
    return body[:-1] + (f", {extra}" if extra else "") + "}"


def test_a_value_nested_10000_deep_is_one_located_error_and_the_rest_imports__jsonl(tmp_path, engineer):
    lines = [_assistant_json(1), _assistant_json(2, f'"metadata": {{"x": {_deep(10_000)}}}'), _assistant_json(3),
             json.dumps({"x": json.loads(_deep(900))})[:-1] + ', "object": "assistant", "id": "asst_9"}']
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = import_archive(path=path, actor=engineer)
    errors = _errors(report)
    assert [where for where, _ in errors] == ["line 2", "line 4, field x" + "[0]" * 63]
    assert "nested deeper than 64 levels" in errors[0][1] and "nested deeper than 64" in errors[1][1]
    assert all("Traceback" not in message and "/" not in message for _, message in errors)
    assert sorted(Assistant.objects.values_list("legacy_id", flat=True)) == ["asst_0001", "asst_0003"]


def test_a_value_nested_10000_deep_is_one_located_error_and_the_rest_imports__document(tmp_path, engineer):
    deep = _assistant_json(2, f'"tools": [{{"type": "function", "function": {{"name": "f", "parameters": '
                              f'{_deep(10_000, "{}")}}}}}]')
    text = (f'{{"format_version": 1, "assistants": [{_assistant_json(1)}, {deep}, {_assistant_json(3)}], '
            f'"threads": [{json.dumps(a.thread("thread_d"))}], "messages": [{json.dumps(a.message("thread_d", 0))}]}}')
    path = tmp_path / "deep.json"
    path.write_text(text)
    report = import_archive(path=path, actor=engineer)
    (where, message), = _errors(report)
    assert where.startswith("assistants[1], field tools[].function.parameters")
    assert "nested deeper than 64 levels" in message and "skipped" in message
    assert sorted(Assistant.objects.values_list("legacy_id", flat=True)) == ["asst_0001", "asst_0003"]
    assert LegacyMessage.objects.count() == 1  # what comes after the deep object still imports


def test_archive_reader_keeps_bounded_state_whatever_the_nesting_depth(tmp_path):
    """A top-level array nested 20,000 deep (40 KB) is one located problem, read with bounded state: the walker
    keeps at most the depth limit's worth of prefix, whatever the input depth."""
    path = tmp_path / "nest.json"
    path.write_text("[" + _deep(20_000) + ", " + _assistant_json(1) + "]")
    reader = ArchiveReader(path)
    items = list(reader)
    problems = [i for i in items if isinstance(i, Problem)]
    records = [i for i in items if isinstance(i, Record)]
    assert len(problems) == 1 and "nested deeper than 64 levels" in problems[0].message
    assert [r.obj["id"] for r in records] == ["asst_0001"]


def test_a_jsonl_file_whose_first_line_is_not_json_reports_that_line_and_imports_the_rest(tmp_path, engineer):
    for first in ("this is not json", "{garbage", "[1, 2", "<html>"):
        path = tmp_path / "g.jsonl"
        lines = [first, *(_assistant_json(n) for n in (1, 2, 3))]
        path.write_text("\n".join(lines) + "\n")
        report = import_archive(path=path, actor=engineer)
        (where, message), = _errors(report)
        assert where == "line 1" and "not valid JSON" in message, first
        assert Assistant.objects.count() == 3, first
        Assistant.objects.all().delete()


def test_a_pretty_printed_document_is_still_read_as_a_document(tmp_path, engineer):
    document = {"format_version": 1, "assistants": [a.assistant(1), a.assistant(2)]}
    text = json.dumps(document, indent=2)
    # a one-line item that parses on its own must not make it look like JSON Lines
    text = text.replace(json.dumps(a.assistant(2), indent=2).replace("\n", "\n    "), json.dumps(a.assistant(2)))
    path = tmp_path / "pretty.json"
    path.write_text(text)
    report = import_archive(path=path, actor=engineer)
    assert _errors(report) == [] and Assistant.objects.count() == 2


@pytest.mark.parametrize("shape", ["jsonl", "document"])
def test_huge_numbers_and_strings_cost_only_their_object(tmp_path, engineer, settings, shape):
    settings.ARCHIVE_LIMITS = {"max_string_chars": 10_000}
    bad = {
        "5,000 digits": _assistant_json(2, f'"temperature": {"9" * 5000}'),
        "1e999": _assistant_json(3, '"top_p": 1e999'),
        "long string": _assistant_json(4, f'"metadata": {{"k": "{"s" * 10_001}"}}'),
        "long float": _assistant_json(5, f'"top_p": 0.{"1" * 5000}'),
    }
    objects = [_assistant_json(1), *bad.values(), _assistant_json(6)]
    path = tmp_path / f"n.{shape}"
    if shape == "jsonl":
        path.write_text("\n".join(objects) + "\n")
    else:
        path.write_text('{"assistants": [' + ", ".join(objects) + "]}")
    report = import_archive(path=path, actor=engineer)
    errors = _errors(report)
    assert len(errors) == 4, errors
    assert "digits" in errors[0][1] and "10,001 characters" in errors[2][1]
    if shape == "document":
        assert errors[0][0] == "assistants[1], field temperature"
        assert errors[2][0] == "assistants[3], field metadata.k"
    assert sorted(Assistant.objects.values_list("legacy_id", flat=True)) == ["asst_0001", "asst_0006"]


def test_objects_lines_and_size_per_archive_are_bounded(tmp_path, engineer, settings):
    path = a.write_jsonl(tmp_path / "many.jsonl", [a.assistant(n) for n in range(1, 11)], header=False)
    settings.ARCHIVE_LIMITS = {"max_objects": 4}
    report = import_archive(path=path, actor=engineer)
    (where, message), = _errors(report)
    assert where == "line 5" and "more than 4 objects" in message
    assert Assistant.objects.count() == 4

    settings.ARCHIVE_LIMITS = {"max_lines": 6}
    report = import_archive(path=path, actor=engineer)
    (where, message), = _errors(report)
    assert where == "line 7" and "more than 6 lines" in message

    settings.ARCHIVE_LIMITS = {"max_file_bytes": 100}
    from migrator.core.services import ServiceError

    with pytest.raises(ServiceError, match="at most 100 bytes"):
        import_archive(path=path, actor=engineer)


def test_a_gzip_bomb_stops_at_the_uncompressed_limit(tmp_path, engineer, settings):
    settings.ARCHIVE_LIMITS = {"max_uncompressed_bytes": 1_000_000}
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb") as out:
        out.write((_assistant_json(1) + "\n").encode())
        out.write(b" " * 5_000_000)
    report = import_archive(path=path, actor=engineer)
    (_where, message), = _errors(report)
    assert "uncompresses to more than 1,000,000 bytes" in message
    assert Assistant.objects.count() == 1
