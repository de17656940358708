"""Plain data types shared by the conversion modules. JSON-able via ``to_dict`` so versions can store them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Ledger outcomes: what happened to each source field.
TRANSFERRED = "transferred"
CHANGED = "changed"
NEEDS_DECISION = "needs_decision"
DROPPED = "dropped"
OUTCOMES = (TRANSFERRED, CHANGED, NEEDS_DECISION, DROPPED)

# Finding kinds.
STRICT = "strict"  # a JSON schema that strict mode would reject
INSTRUCTIONS = "instructions"  # legacy wording in the instructions
CONFIG = "config"  # something in the converted configuration that needs a look (placeholders, empty stores…)

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass
class LedgerEntry:
    """What happened to one source field."""

    field: str  # source path, e.g. "tools[2].function.parameters" or "model"
    outcome: str  # one of OUTCOMES
    reason: str  # plain language: why, and what to do when a decision is needed
    before: Any = None
    after: Any = None
    target: str = ""  # JSON pointer of the field's new home in the config ("" when dropped)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Finding:
    """One lint result. Strict findings carry a pointer and a proposed fix; instruction findings a text span."""

    kind: str  # STRICT | INSTRUCTIONS | CONFIG
    code: str  # stable machine code, e.g. "additional_properties", "thread_talk"
    message: str  # plain explanation
    severity: str = WARNING
    pointer: str = ""  # JSON pointer into the converted config
    schema_pointer: str = ""  # for STRICT: pointer of the schema the finding belongs to
    span: tuple[int, int] | None = None  # for INSTRUCTIONS: [start, end) offsets in the instructions
    text: str = ""  # the offending text (instructions) or value (config)
    fix: str = ""  # what the proposed fix does ("" when it cannot be fixed automatically)
    fixable: bool = True

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["span"] = list(self.span) if self.span else None
        return data


@dataclass
class ConversionError:
    """Input that cannot be converted. ``field`` names where; ``message`` says what to do."""

    field: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


@dataclass
class SchemaReview:
    """A schema (function parameters or json_schema format) and the strict-mode choice made for it."""

    pointer: str  # where the schema lives in the config, e.g. "/tools/0/parameters"
    label: str  # human label, e.g. "function get_weather" or "response format answer"
    original: dict[str, Any]
    fixed: dict[str, Any]
    compatible: bool  # the original already satisfies strict mode
    fixable: bool  # the fixed schema satisfies strict mode
    choice: str  # "fixed" (strict true) | "original" (strict false)
    strict: bool
    source_strict: bool | None  # what the source said (None = unset)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ConvertedTool:
    """One tool converted: the old shape, the new shape (None when dropped), and what happened."""

    old: dict[str, Any]
    new: dict[str, Any] | None
    ledger: list[LedgerEntry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[ConversionError] = field(default_factory=list)
    schema: SchemaReview | None = None  # function tools only


@dataclass
class ConversionResult:
    kwargs: dict[str, Any]
    ledger: list[LedgerEntry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[ConversionError] = field(default_factory=list)
    schemas: list[SchemaReview] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)  # the unwrapped legacy definition that was read

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_message(self) -> str:
        return "; ".join(str(e) for e in self.errors)

    def ledger_dicts(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.ledger]

    def finding_dicts(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.findings]

    def strict_choices(self) -> dict[str, dict[str, Any]]:
        return {
            s.pointer: {"choice": s.choice, "strict": s.strict, "by": "generated", "reason": s.reason}
            for s in self.schemas
        }
