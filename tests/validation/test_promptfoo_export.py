"""The promptfoo export reproduces the run's verdict case for case: the export's own provider and assertion
(migrator's replay engine and scorer, copied into the export) are run here directly, and with the real
``promptfoo`` CLI, a pinned devDependency (package.json) that ``make test`` installs with ``npm ci``."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from migrator.validation import promptfoo

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _run_with_mixed_verdicts(weather, tmp_path) -> dict:
    """A run where one case fails (a tool removed: the recorded call is never made) and the rest pass."""
    config = copy.deepcopy(weather.version.config)
    config["tools"] = [t for t in config["tools"] if t.get("name") != "get_weather"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    threads = tmp_path / "threads.txt"
    threads.write_text("\n".join(weather.thread_ids[:2]) + "\n")
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("validate", "--assistant", weather.assistant.legacy_id, "--config", str(path),
                     "--connection", "Sandbox", "--mode", "stateless", "--threads", str(threads), "--json",
                     stdout=out, stderr=StringIO())
    data = json.loads(out.getvalue())
    assert data["release"] and len(data["release"]) == 64
    return data


def _migrator_verdicts(data: dict) -> dict[str, bool]:
    from migrator.validation.models import TestCase, ValidationRun

    run = ValidationRun.objects.get(pk=data["run_id"])
    keys = dict(TestCase.objects.filter(pk__in=run.case_ids).values_list("pk", "key"))
    verdicts: dict[str, bool] = {}
    for result in run.results.all():
        verdicts[keys[result.case_id]] = result.verdict == "pass"
    return verdicts


def _export(data: dict, out: Path) -> dict:
    call_command("validation", "export", "--run", str(data["run_id"]), "--format", "promptfoo", "--out", str(out),
                 stdout=StringIO())
    return yaml.safe_load((out / "promptfooconfig.yaml").read_text())


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_exported_provider_and_assertion_give_migrators_verdict_per_case(weather, tmp_path, sandbox_empty,
                                                                             monkeypatch):
    data = _run_with_mixed_verdicts(weather, tmp_path)
    expected = _migrator_verdicts(data)
    assert set(expected.values()) == {True, False}, "the run should have passing and failing cases"
    out = tmp_path / "export"
    document = _export(data, out)
    assert {p.name for p in out.iterdir()} >= {"promptfooconfig.yaml", "provider.py", "assert_case.py",
                                               "migrator_replay.py", "migrator_checks.py", "checks.json",
                                               "release.json", "README.md", "cases.jsonl"}
    [provider] = document["providers"]  # one provider, one base URL
    assert provider["config"]["base_url"] == sandbox_empty.base_url.rstrip("/")
    readme = (out / "README.md").read_text()
    assert "pip install openai" in readme and "PROMPTFOO_PYTHON" in readme and data["release"] in readme
    assert json.loads((out / "release.json").read_text())["hash"] == data["release"]
    monkeypatch.setenv("OPENAI_API_KEY", sandbox_empty.api_key)
    monkeypatch.syspath_prepend(str(out))
    provider_py = _load(out / "provider.py", "pf_provider")
    assert_py = _load(out / "assert_case.py", "pf_assert")
    got = {}
    for test in document["tests"]:
        answer = provider_py.call_api(test["vars"]["user"], {"config": provider["config"]}, {"vars": test["vars"]})
        graded = assert_py.get_assert(answer["output"], {"vars": test["vars"]})
        got[test["description"]] = graded["pass"]
    assert got == expected
    # The tool-call check fails a case whose recorded call was not made.
    failing = [t for t in document["tests"] if not expected[t["description"]]]
    answer = provider_py.call_api("", {"config": provider["config"]}, {"vars": failing[0]["vars"]})
    assert "get_weather was not called" in assert_py.get_assert(answer["output"], {"vars": failing[0]["vars"]})["reason"]


def _promptfoo_cli() -> Path | None:
    """PROMPTFOO_BIN when set (it must exist), else the pinned devDependency ``make test`` installs."""
    if os.environ.get("PROMPTFOO_BIN"):
        cli = Path(os.environ["PROMPTFOO_BIN"])
        if not cli.exists():
            pytest.fail(f"PROMPTFOO_BIN={cli} does not exist")
        return cli
    found = ROOT / "node_modules" / ".bin" / "promptfoo"
    return found if found.exists() else None


@pytest.mark.slow
def test_promptfoo_eval_on_the_export_matches_migrators_verdicts(weather, tmp_path, sandbox_empty):
    cli = _promptfoo_cli()
    if cli is None:
        pytest.skip("node_modules/.bin/promptfoo is missing and PROMPTFOO_BIN is not set: run `make "
                    "node_modules/.bin/prism` (npm ci of package-lock.json, which pins promptfoo 0.118.13, the last "
                    "release that runs on Node 20), or point PROMPTFOO_BIN at a promptfoo CLI")
    data = _run_with_mixed_verdicts(weather, tmp_path)
    expected = _migrator_verdicts(data)
    assert set(expected.values()) == {True, False}, "the run should have passing and failing cases"
    out = tmp_path / "export"
    _export(data, out)
    results = tmp_path / "results.json"
    env = {**os.environ, "OPENAI_API_KEY": sandbox_empty.api_key, "PROMPTFOO_PYTHON": sys.executable,
           "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1", "PROMPTFOO_CONFIG_DIR":
           str(tmp_path / "pf-home"), "PROMPTFOO_DISABLE_SHARING": "1"}
    proc = subprocess.run([str(cli), "eval", "-c", str(out / "promptfooconfig.yaml"), "-o", str(results),
                           "--no-cache", "--no-progress-bar", "--no-table", "-j", "1"],
                          cwd=out, env=env, capture_output=True, text=True, timeout=280)
    assert results.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    got = promptfoo.verdicts_of(json.loads(results.read_text()))
    assert got == expected, proc.stdout[-2000:]
    # promptfoo says the same in its exit code: 100 when any case failed (the run has failing cases).
    assert proc.returncode == 100, proc.stderr[-2000:]
