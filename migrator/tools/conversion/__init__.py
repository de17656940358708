"""Pure conversion of tool definitions (Assistants shape → Responses shape) and strict-mode schema lint.

No Django, no database, no network: ``migrator.prompts.conversion`` builds on these for whole assistants,
and the tools app uses them to show each tool's old and new shape. ``types`` holds the findings and ledger
types every conversion step reports with.
"""
