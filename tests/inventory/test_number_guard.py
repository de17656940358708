"""Numbers that crashed ijson's C backend (issue 21, finding 3) never reach it; everything valid around them is read."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.inventory.archive.numberguard import SENTINEL, NumberGuard

REPO = Path(__file__).resolve().parents[2]


class _Chunked(io.RawIOBase):
    """Hands out the bytes in the given chunk sizes, cycling (as a file read across buffer boundaries)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.sizes, self.at, self.n = data, sizes, 0, 0

    def read(self, size: int = -1) -> bytes:
        step = self.sizes[self.n % len(self.sizes)]
        self.n += 1
        out = self.data[self.at:self.at + step]
        self.at += len(out)
        return out


def _through(data: bytes, sizes: list[int]) -> bytes:
    guard = NumberGuard(_Chunked(data, sizes))
    out = []
    while chunk := guard.read(65536):
        out.append(chunk)
    return b"".join(out)


DOCS = [
    # Long digit runs and exponents inside strings, escaped quotes and backslashes before them: untouched.
    json.dumps({"text": "9" * 5000, "id": "a3e12345678", "q": 'say \\"1e99999999\\" ' + "\\" * 3, "n": [1, -2.5e3]}),
    json.dumps([{"x": "\\" * 2001 + "1" * 3000}, 12345678901234567890, 1.5e-300, "\"" + "7" * 1200]),
    # Quotes after 0 to 39 backslashes in early chunks (counted fast), long digit strings in later ones (walked):
    # a wrong count of escaped quotes would take the strings for numbers.
    json.dumps({"a": ["\\" * k + '"' for k in range(40)], "pad": "x" * 70_000, "b": ["9" * 1200, "1e12345678"]}),
]


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("sizes", [[1], [2, 3], [7, 1, 4096], [65536]])
def test_valid_json_passes_the_guard_unchanged_across_any_chunking(doc, sizes):
    assert _through(doc.encode(), sizes) == doc.encode()


@pytest.mark.parametrize("sizes", [[1, 5], [997], [65536]])
def test_over_long_numbers_and_exponents_become_the_sentinel_wherever_chunks_split(sizes):
    doc = b'[1, ' + b"9" * 70_000 + b', "' + b"9" * 70_000 + b'", 1e99999999999999999999, -1.' + b"5" * 2000 + b", 2]"
    out = _through(doc, sizes)
    assert out == b"[1, " + SENTINEL + b', "' + b"9" * 70_000 + b'", ' + SENTINEL + b", " + SENTINEL + b", 2]"


@pytest.mark.slow
def test_a_json_document_with_100_mb_of_digits_is_read_around_the_number_in_a_process_that_survives(tmp_path):
    path = tmp_path / "export.json"
    with path.open("wb") as out:
        out.write(b'{"assistants": [\n  {"id": "asst_before", "object": "assistant", "model": "gpt-4o", "created_at": 1},\n'
                  b'  {"id": "asst_bomb", "object": "assistant", "model": "gpt-4o", "created_at": ')
        for _ in range(100):
            out.write(b"9" * 1_000_000)
        out.write(b'},\n  {"id": "asst_after", "object": "assistant", "model": "gpt-4o", "created_at": 3}\n]}\n')
    script = (
        "import json, sys, django, os\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tests.settings')\n"
        "django.setup()\n"
        "from migrator.inventory.archive.reader import ArchiveReader, Problem, Record\n"
        "out = []\n"
        "for item in ArchiveReader(sys.argv[1]):\n"
        "    if isinstance(item, Record): out.append(['record', item.obj.get('id')])\n"
        "    elif isinstance(item, Problem): out.append(['problem', item.where, item.message, item.fatal])\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], cwd=REPO, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, f"the reader's process died ({done.returncode}): {done.stderr[-2000:]}"
    items = json.loads(done.stdout.strip().splitlines()[-1])
    assert ["record", "asst_before"] in items and ["record", "asst_after"] in items
    problems = [i for i in items if i[0] == "problem"]
    assert len(problems) == 1
    _, where, message, fatal = problems[0]
    assert where.startswith("assistants[1]") and "created_at" in where and not fatal
    assert "a number longer than 1,000 characters" in message
