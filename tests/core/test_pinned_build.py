"""The build is pinned (issue 19): what CI tested is what a fresh machine, `make run` and the image install."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "uv.lock"
UV = REPO / ".tools" / "bin" / "uv"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, dict]:
    return {_normalise(p["name"]): p for p in tomllib.loads(LOCK.read_text())["package"]}


def _uv_version_in_makefile() -> str:
    match = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert match, "the Makefile pins uv's version in UV_VERSION"
    return match.group(1)


def test_every_locked_package_is_pinned_with_hashes():
    for name, package in _locked().items():
        if package.get("source", {}).get("virtual"):
            continue  # migrator itself
        artifacts = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        assert artifacts, f"{name} has no artifact in uv.lock"
        assert all(a.get("hash", "").startswith("sha256:") for a in artifacts), f"{name} lacks hashes"


def test_the_installed_set_equals_the_lock():
    """In the environment `make install` made, every distribution is the locked one at the locked version."""
    cfg = Path(sys.prefix, "pyvenv.cfg")
    if os.environ.get("MIGRATOR_UPGRADE_CHECK"):
        pytest.skip("make upgrade-check runs the suite on newer versions than uv.lock on purpose")
    if Path(sys.prefix).resolve() != (REPO / ".venv").resolve() or not re.search(r"^uv = ", cfg.read_text(), re.M):
        pytest.skip(f"{sys.prefix} is not the .venv make install made from uv.lock (pip install -e . may float)")
    locked = _locked()
    installed = {_normalise(d.metadata["Name"]): d.version for d in metadata.distributions()}
    installed.pop("migrator", None)  # an editable install by hand; make install does not install the project
    extra = sorted(set(installed) - set(locked))
    assert not extra, f"installed but not in uv.lock: {extra}"
    wrong = {n: (v, locked[n]["version"]) for n, v in installed.items() if v != locked[n]["version"]}
    assert not wrong, f"installed versions differ from uv.lock (installed, locked): {wrong}"


def test_every_install_path_uses_the_lock():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"\$\(UV\) sync --frozen", makefile), "make install installs the lock and never resolves"
    pip_lines = re.findall(r"pip install[^\n]*", makefile)
    assert len(pip_lines) == 1 and pip_lines[0].endswith('"uv==$(UV_VERSION)"'), "pip only bootstraps the pinned uv"
    for target in ("run: install", "test: install", "test-fast: install"):
        assert target in makefile
    assert "make test" in (REPO / ".ci/run").read_text()
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^COPY [^\n]*uv\.lock", dockerfile, re.M), "the image copies uv.lock"
    assert re.search(r"uv sync --locked", dockerfile), "the image installs from the lock, refusing a stale one"
    assert not re.search(r"pip install (\.|-e)", dockerfile), "the image never resolves with pip"
    assert f'uv=={_uv_version_in_makefile()}' in dockerfile, "the image bootstraps the Makefile's uv version"


@pytest.mark.slow
def test_a_stale_lock_stops_make_install_and_says_run_make_lock(tmp_path):
    if not UV.exists():
        pytest.skip("uv is not bootstrapped in .tools/ (make install does it)")
    for name in ("Makefile", "pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts/find-python", tmp_path / "scripts/find-python")
    (tmp_path / ".tools").symlink_to(REPO / ".tools")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('dependencies = [\n', 'dependencies = [\n    "six>=1.16",\n', 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV", "MAKE"))}
    result = subprocess.run(["make", "install"], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode != 0
    assert "uv.lock is out of date with pyproject.toml: run 'make lock'" in result.stderr
    assert not (tmp_path / ".venv" / ".installed").exists(), "nothing was installed from a stale lock"
