"""Pure conversion of an Assistants API assistant into Responses ``create`` keyword arguments.

No database and no network here: views, services, the management command and other apps (flows shows old
vs new tool shapes with ``tools.convert_tool`` and ``strict.lint_schema``) all call the same functions.
"""

from migrator.prompts.conversion.convert import LEGACY_ID_KEY, convert, unwrap
from migrator.prompts.conversion.types import (
    CHANGED,
    DROPPED,
    NEEDS_DECISION,
    OUTCOMES,
    TRANSFERRED,
    ConversionError,
    ConversionResult,
    ConvertedTool,
    Finding,
    LedgerEntry,
    SchemaReview,
)
from migrator.prompts.conversion.validate import Problem, validate_config

__all__ = [
    "CHANGED",
    "DROPPED",
    "LEGACY_ID_KEY",
    "NEEDS_DECISION",
    "OUTCOMES",
    "TRANSFERRED",
    "ConversionError",
    "ConversionResult",
    "ConvertedTool",
    "Finding",
    "LedgerEntry",
    "Problem",
    "SchemaReview",
    "convert",
    "unwrap",
    "validate_config",
]
