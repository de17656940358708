"""Converting one legacy assistant definition given as text: the door shared by the *Convert* page and
``manage.py convert_assistant``.

Nothing is stored and nothing is sent anywhere: the text is parsed with the safe JSON reader and converted by the
pure ``migrator.prompts.conversion``; model retirement is judged from the catalogue file alone (as the command
always did, so a page and a terminal given the same file print the same configuration).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from migrator.core import model_catalog, safeinput
from migrator.core.services import ServiceError
from migrator.prompts.codegen import kwargs_json, python_call
from migrator.prompts.conversion import NEEDS_DECISION, ConversionResult, convert
from migrator.tools.conversion.types import ERROR

MAX_TEXT = 2 * 1024 * 1024  # one assistant definition; a whole archive belongs on the Import page


@dataclass
class Converted:
    result: ConversionResult

    @property
    def kwargs(self) -> dict[str, Any]:
        return self.result.kwargs

    def outcome_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.result.ledger:
            counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        return counts

    def decisions(self) -> list[dict[str, str]]:
        return [{"field": e.field, "reason": e.reason} for e in self.result.ledger if e.outcome == NEEDS_DECISION]

    def fixes(self) -> list[dict[str, str]]:
        return [{"where": f.pointer or f.text, "message": f.message} for f in self.result.findings
                if f.severity == ERROR and f.kind != "strict"]

    def loose_schemas(self) -> list[str]:
        return [s.label for s in self.result.schemas if not s.compatible]

    def kwargs_json(self) -> str:
        return kwargs_json(self.kwargs)

    def python(self) -> str:
        return python_call(self.kwargs)

    def as_json(self) -> dict[str, Any]:
        """What ``convert_assistant --json`` prints: the configuration and everything said about it."""
        return {
            "kwargs": self.kwargs,
            "ledger": self.result.ledger_dicts(),
            "outcomes": self.outcome_counts(),
            "decisions": self.decisions(),
            "fixes": self.fixes(),
            "findings": self.result.finding_dicts(),
            "schemas": [s.to_dict() for s in self.result.schemas],
        }


def convert_text(*, text: str, source: str = "the definition", today: date | None = None) -> Converted:
    """Parse and convert one assistant (an Assistants API object, a create/update body, or the corpus wrapper).
    Unreadable or unconvertible input raises ``ServiceError`` naming each field and what to do."""
    if not (text or "").strip():
        raise ServiceError(f"{source} is empty: paste or upload one assistant as JSON.")
    if len(text) > MAX_TEXT:
        raise ServiceError(f"{source} is larger than {MAX_TEXT // 1024 // 1024} MB; one assistant definition is "
                           "expected (import a whole archive on the Import page).")
    try:
        data = safeinput.loads(text)
    except ValueError as exc:
        raise ServiceError(f"{source} cannot be read: {safeinput.describe(exc)}.") from None
    with model_catalog.file_only():
        result = convert(data, today=today)
    if result.errors:
        lines = "\n".join(f"  - {error}" for error in result.errors)
        raise ServiceError(f"{source} cannot be converted:\n{lines}")
    return Converted(result)
