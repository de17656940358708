"""Memory and time of the archive reader on hostile nesting (issue 15). Prints one line per case.

    .venv/bin/python bench/hostile_archive.py

Each case runs in a fresh process so the RSS figures are not polluted by the previous one: ``peak`` is the
high-water mark (VmHWM), ``after`` what the process holds once the reader is done.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrator.settings")
os.environ.setdefault("DEBUG", "true")
django.setup()
from migrator.inventory.archive.reader import ArchiveReader

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) // 1024
start = status("VmRSS:")
t0 = time.perf_counter()
items = sum(1 for _ in ArchiveReader(sys.argv[1]))
print(f"{time.perf_counter() - t0:.2f}s items={items} start={start}MB peak={status('VmHWM:')}MB "
      f"after={status('VmRSS:')}MB")
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cases = {}
        for depth in (10_000, 20_000, 100_000):
            cases[f"array nested {depth:,} deep ({2 * depth // 1024} KB)"] = ("[" * depth + "]" * depth, "json")
            cases[f"JSONL line nested {depth:,} deep"] = ('{"object": "assistant", "x": ' + "[" * depth
                                                         + "]" * depth + "}\n", "jsonl")
        nest = "[" * 20 + "]" * 20
        items = [f'{{"object": "assistant", "id": "asst_{i}", "model": "m", "x": {nest}}}' for i in range(5000)]
        cases["5,000 objects of 20 levels"] = ("[" + ",".join(items) + "]", "json")
        for label, (text, suffix) in cases.items():
            path = Path(tmp) / f"case.{suffix}"
            path.write_text(text)
            out = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=REPO, capture_output=True,
                                 text=True, env={**os.environ, "DEBUG": "true"}, timeout=600)
            print(f"{label:45} {out.stdout.strip() or out.stderr.strip()[-300:]}")


if __name__ == "__main__":
    main()
