"""`make upgrade-check`: would the newest versions pyproject.toml allows still pass? Which upgrade breaks what?

In a throwaway directory (nothing in the checkout or its .venv changes):
1. resolve the newest versions pyproject.toml allows and compare them with uv.lock;
2. install them into a fresh environment and run the fast lane of the suite against them;
3. if tests fail, try each upgraded package alone on top of the locked set, running only the failed tests, and
   print which upgrade breaks which test.
Exit 0 when the upgraded set passes (then `make lock UPGRADE=1` moves the lock forward), 1 when something
broke, 2 when the check itself could not run. Uses only the standard library, so it runs from .tools/.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return {normalise(p["name"]): p["version"] for p in lock.get("package", []) if "version" in p
            and p.get("source", {}).get("virtual") is None and p.get("source", {}).get("editable") is None}


def pinned(requirements: Path) -> dict[str, str]:
    found = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line.strip())
        if match:
            found[normalise(match.group(1))] = match.group(2)
    return found


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload]


def make_env(uv: str, python: str, where: Path, requirements: Path) -> Path:
    venv = where / "venv"
    step = run([uv, "venv", "--quiet", "--python", python, str(venv)])
    if step.returncode:
        raise SystemExit(f"upgrade-check: could not create {venv}: {step.stderr.strip()}")
    step = run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin/python"), "-r", str(requirements)])
    if step.returncode:
        raise RuntimeError(step.stderr.strip()[-2000:])
    return venv


def failed_tests(venv: Path, args: list[str], report: Path) -> tuple[int, list[str]]:
    """Run pytest from the checkout with ``venv``'s interpreter; the ids of the tests that failed or errored."""
    # MIGRATOR_UPGRADE_CHECK: this environment differs from uv.lock on purpose (the pinned-build test skips).
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MIGRATOR_UPGRADE_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run([str(venv / "bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"--junitxml={report}", *args], cwd=REPO, env=env, text=True, capture_output=True)
    failed = []
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                path = (case.get("file") or case.get("classname", "").replace(".", "/") + ".py")
                failed.append(f"{path}::{case.get('name')}")
    return proc.returncode, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("-m", dest="marks", default="not browser and not worker and not slow")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway directory (its path is printed)")
    options = parser.parse_args()
    options.uv = shutil.which(options.uv) or options.uv
    options.uv = str(Path(options.uv).resolve())  # it runs in other folders too

    work = Path(tempfile.mkdtemp(prefix="migrator-upgrade-check-"))
    try:
        locked_txt, newest_txt = work / "locked.txt", work / "newest.txt"
        step = run([options.uv, "export", "--quiet", "--frozen", "--extra", "dev", "--no-hashes",
                    "--no-emit-project", "--no-header", "-o", str(locked_txt)], cwd=REPO)
        if step.returncode:
            print(f"upgrade-check: cannot read uv.lock: {step.stderr.strip()}", file=sys.stderr)
            return 2
        # Resolve exactly as `make lock UPGRADE=1` would, in a copy: the same universal resolution as uv.lock.
        project = work / "project"
        project.mkdir()
        for name in ("pyproject.toml", "uv.lock", "README.md"):
            shutil.copy(REPO / name, project / name)
        step = run([options.uv, "lock", "--quiet", "--upgrade", "--python", options.python], cwd=project)
        if step.returncode:
            print(f"upgrade-check: the newest allowed versions do not resolve:\n{step.stderr.strip()}", file=sys.stderr)
            return 1
        step = run([options.uv, "export", "--quiet", "--frozen", "--extra", "dev", "--no-hashes",
                    "--no-emit-project", "--no-header", "-o", str(newest_txt)], cwd=project)
        if step.returncode:
            print(f"upgrade-check: cannot read the upgraded lock: {step.stderr.strip()}", file=sys.stderr)
            return 2
        locked, newest = locked_versions(), pinned(newest_txt)
        changes = {name: (locked.get(name, "-"), version) for name, version in sorted(newest.items())
                   if locked.get(name) != version}
        if not changes:
            print("upgrade-check: uv.lock already has the newest versions pyproject.toml allows. Nothing to do.")
            return 0
        print(f"upgrade-check: {len(changes)} package(s) would move:", flush=True)
        for name, (old, new) in changes.items():
            print(f"  {name:32} {old:>14} -> {new}", flush=True)

        print(f"\nupgrade-check: fast lane ({options.marks}) against the newest versions …", flush=True)
        try:
            venv = make_env(options.uv, options.python, work / "newest", newest_txt)
        except RuntimeError as exc:
            print(f"upgrade-check: the newest versions do not install:\n{exc}", file=sys.stderr)
            return 1
        code, failures = failed_tests(venv, ["-m", options.marks], work / "newest.xml")
        if code == 0:
            print("upgrade-check: the fast lane passes. Move the lock forward with `make lock UPGRADE=1`, then "
                  "run `make test` and commit uv.lock.")
            return 0
        if not failures:
            print(f"upgrade-check: pytest exited {code} without a failed test (collection or start-up broke); "
                  f"run it by hand in {work} with --keep to see why.")
            return 1
        print(f"upgrade-check: {len(failures)} test(s) fail with every upgrade together. Running them on uv.lock …",
              flush=True)
        try:
            _, baseline = failed_tests(make_env(options.uv, options.python, work / "locked", locked_txt), failures,
                                       work / "locked.xml")
        except RuntimeError as exc:
            print(f"upgrade-check: uv.lock itself does not install: {exc}", file=sys.stderr)
            return 2
        if baseline:
            print(f"upgrade-check: {len(baseline)} of them fail on uv.lock too (not an upgrade's doing):")
            for test in baseline:
                print(f"      {test}")
            failures = [test for test in failures if test not in baseline]
            if not failures:
                print("upgrade-check: the upgrades break nothing the lock does not. Fix those tests first.")
                return 1
        print("upgrade-check: trying each upgrade alone …", flush=True)
        blamed: dict[str, list[str]] = {}
        for name, (_old, new) in changes.items():
            # The locked set without this package, then this package at its newest version: whatever it
            # requires moves with it (deepdiff 9.2 needs cachebox 6), nothing else does.
            alone = work / f"alone-{name}.txt"
            alone.write_text("".join(line + "\n" for line in locked_txt.read_text().splitlines()
                                     if normalise(re.split(r"[=\[<> ;]", line.strip(), maxsplit=1)[0]) != name))
            try:
                venv = make_env(options.uv, options.python, work / f"alone-{name}", alone)
                step = run([options.uv, "pip", "install", "--quiet", "--python", str(venv / "bin/python"),
                            f"{name}=={new}"])
                if step.returncode:
                    raise RuntimeError(step.stderr.strip())
            except RuntimeError as exc:
                lines = str(exc).strip().splitlines() or ["?"]
                blamed[name] = [f"(does not install beside the locked set: {lines[-1].strip()})"]
                continue
            _, broken = failed_tests(venv, failures, work / f"alone-{name}.xml")
            if broken:
                blamed[name] = broken
            shutil.rmtree(work / f"alone-{name}", ignore_errors=True)
        print("\nupgrade-check: what broke what")
        for name, tests in blamed.items():
            old, new = changes[name]
            print(f"  {name} {old} -> {new} breaks {len(tests)}:")
            for test in tests:
                print(f"      {test}")
        unexplained = sorted(set(failures) - {t for tests in blamed.values() for t in tests})
        if unexplained:
            print("  only with several upgrades together:")
            for test in unexplained:
                print(f"      {test}")
        print("\nKeep the lock, cap the package in pyproject.toml or fix the code, then run this again.")
        return 1
    finally:
        if options.keep:
            print(f"(kept {work})")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
