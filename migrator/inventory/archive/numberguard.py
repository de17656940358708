"""Keep numbers that would crash ijson's C backend out of a JSON document before it parses them.

ijson's ``yajl2_c`` backend converts each number token with ``int()`` or ``Decimal()`` inside a C callback. When the
conversion raises (an integer longer than ``sys.int_max_str_digits``, an exponent ``Decimal`` refuses), the error
escapes the parse half-handled: a ``SystemError``, an ``InvalidOperation`` that ends the whole document, or, with a
token longer than 64 KiB, a SIGSEGV that kills the import worker (issue 21). So the stream handed to ijson passes
through :class:`NumberGuard`, which replaces every number token (outside strings) that is longer than
:data:`MAX_NUMBER_CHARS` characters or carries an exponent of more than :data:`MAX_EXPONENT_DIGITS` digits by the
string :data:`SENTINEL`; the reader refuses the object holding it, with its path, like any value over a limit.

Cost: chunks without a long run of digits or a long exponent (nearly all) pass through after two regex scans and
a count of quotes; only a chunk holding a suspicious run is walked token by token. A 100 MB number is swallowed in
constant memory.
"""

from __future__ import annotations

import re
from typing import IO

MAX_NUMBER_CHARS = 1_000  # digits, sign, point and exponent: far above any real number, far below 4,300 digits
MAX_EXPONENT_DIGITS = 6  # Decimal refuses exponents beyond about 10**18; no real value needs 1e1000000
SENTINEL_TEXT = "\u0000migrator: number over the limit"
SENTINEL = b'"\\u0000migrator: number over the limit"'
REASON = (f"a number longer than {MAX_NUMBER_CHARS:,} characters or with an exponent of more than "
          f"{MAX_EXPONENT_DIGITS} digits")

_NUMERIC = b"0123456789+-.eE"
# A chunk needs the careful walk only if it holds a long run of digits or a long exponent (outside a string or
# not: the walk tells). Found with substring searches over a translated copy (digits → 0, e/E → e, +/- → +,
# anything else → space), which is many times cheaper than a regular expression over every byte.
_CLASSES = bytes.maketrans(b"0123456789eE+-", b"0000000000ee++")
_CLASSES = bytes(c if chr(c) in "0e+" else 32 for c in _CLASSES)
_SUSPICIOUS = (b"0" * (MAX_NUMBER_CHARS // 2), b"e" + b"0" * (MAX_EXPONENT_DIGITS + 1),
               b"e+" + b"0" * (MAX_EXPONENT_DIGITS + 1))
_ESCAPED_QUOTE = re.compile(rb'(\\+)"')
_STRING_REST = re.compile(rb'(?:[^"\\]|\\.)*+"', re.S)  # possessive: linear, no backtracking
_OUTSIDE_STOP = re.compile(rb'"|[-+0-9.eE]+')
_LONG_EXPONENT = re.compile(rb"[eE][+-]?[0-9]{%d}" % (MAX_EXPONENT_DIGITS + 1))
_HOLD_BACK_LIMIT = 2 * MAX_NUMBER_CHARS


class NumberGuard:
    """A read-only byte stream: ``inner`` with over-long number tokens replaced by :data:`SENTINEL`."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.in_string = False
        self.carry = b""
        self.swallowing = False  # inside an over-long number whose sentinel is already out
        self.replaced = 0

    def read(self, size: int = -1) -> bytes:
        while True:
            data = self.inner.read(size)
            if not data:
                out, self.carry = self.carry, b""
                return self._guard(out, final=True) if out else b""
            if self.swallowing:
                rest = data.lstrip(_NUMERIC)
                if not rest:
                    continue  # the whole chunk is more of the same number
                data, self.swallowing = rest, False
            data, self.carry = self.carry + data, b""
            out = self._guard(data, final=False)
            if out:
                return out

    def _guard(self, data: bytes, *, final: bool) -> bytes:
        if not final:
            # Hold back a trailing run of number characters or backslashes: the token (or the escape) may
            # continue in the next chunk. A longer run is let through (the walk swallows an over-long number),
            # keeping back only a last odd backslash so an escape is never split from what it escapes.
            tail = len(data) - len(data.rstrip(_NUMERIC + b"\\"))
            if tail >= _HOLD_BACK_LIMIT:
                tail = (len(data) - len(data.rstrip(b"\\"))) % 2
            if tail:
                data, self.carry = data[:-tail], data[-tail:]
            if not data:
                return b""
        classes = data.translate(_CLASSES)
        if not any(pattern in classes for pattern in _SUSPICIOUS):
            self.in_string ^= self._quote_parity(data)
            return data
        return self._walk(data, final=final)

    @staticmethod
    def _quote_parity(data: bytes) -> bool:
        """Whether the chunk holds an odd number of unescaped quotes (so it flips in/out of a string)."""
        quotes = data.count(b'"')
        if not quotes or b'\\"' not in data:
            return bool(quotes % 2)
        # A quote after k backslashes is escaped when k is odd: with c(j) the quotes after at least j
        # backslashes, the escaped ones are c(1) - c(2) + c(3) - ... (each count one fast scan).
        escaped, j = 0, 1
        while (c := data.count(b"\\" * j + b'"')) and j <= 16:
            escaped += c if j % 2 else -c
            j += 1
        if c:  # runs of more than 16 backslashes before a quote: count those runs one by one
            escaped = sum(1 for m in _ESCAPED_QUOTE.finditer(data) if len(m.group(1)) % 2)
        return bool((quotes - escaped) % 2)

    def _walk(self, data: bytes, *, final: bool) -> bytes:
        out: list[bytes] = []
        emitted = i = 0
        n = len(data)
        while i < n:
            if self.in_string:
                m = _STRING_REST.match(data, i)
                if m is None:
                    break  # the string goes on in the next chunk
                self.in_string = False
                i = m.end()
                continue
            m = _OUTSIDE_STOP.search(data, i)
            if m is None:
                break
            if m.group() == b'"':
                self.in_string = True
                i = m.end()
                continue
            token = m.group()
            if len(token) > MAX_NUMBER_CHARS or _LONG_EXPONENT.search(token):
                out += [data[emitted:m.start()], SENTINEL]
                emitted = m.end()
                self.replaced += 1
                if m.end() == n and not final:
                    self.swallowing = True  # the number goes on in the next chunk
            i = m.end()
        out.append(data[emitted:])
        return b"".join(out)
