"""Pure conversion of an Assistants API assistant into Responses ``create`` keyword arguments.

No database and no network here: views, services and the management command all call the same functions.
Each tool definition is converted by the tools app's pure ``migrator.tools.conversion`` (which also owns
the findings and ledger types); the tools app shows old vs new shapes with the same functions.
"""

from migrator.prompts.conversion.convert import LEGACY_ID_KEY, convert, unwrap
from migrator.prompts.conversion.validate import Problem, validate_config
from migrator.tools.conversion.types import (
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
