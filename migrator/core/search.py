"""Search: trigram-indexed substring match and full-text match on PostgreSQL, ``LIKE`` on SQLite.

Django's ``icontains`` is ``UPPER(col) LIKE UPPER('%q%')`` on PostgreSQL, which no plain index can serve. The
``ilike`` lookup here is ``lower(col) LIKE lower('%q%')``, which the GIN ``gin_trgm_ops`` indexes on ``lower(col)``
(``core/migrations/0009_trigram_on_lower.py``; PostgreSQL only, with the pg_trgm extension) answer with a bitmap
scan for any query of three characters or more: right for short columns (names, ids, slugs, models).

Long prose (an assistant's instructions and description) is searched by words instead, in the stored
``search_document`` tsvector column with its GIN index (PostgreSQL only, see that migration): a substring
index there must re-read every matching row's text to confirm it, which for a common word costs more than
scanning the table. Words match by prefix and stem ("bill" finds "billing", "refund" finds
"refunds"). SQLite has neither index: there everything falls back to ``icontains`` (a table scan, fast at the
sizes SQLite is used for).
"""

from __future__ import annotations

import re
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import BooleanField, CharField, Lookup, Q, TextField
from django.db.models.expressions import Expression


class ILike(Lookup):
    lookup_name = "ilike"
    prepare_rhs = False

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        escaped = str(self.rhs).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        # lower(col): the trigram indexes are on lower(col) so that plain equality never picks them
        # (core/migrations/0009_trigram_on_lower.py). Both sides lowered by the database, so LIKE is enough: it
        # costs half of ILIKE on the rows a filter reads one by one.
        return f"lower({lhs}) LIKE lower(%s)", [*lhs_params, f"%{escaped}%"]

    def as_sql(self, compiler, connection):  # every other database: Django's own icontains
        lookup = self.lhs.output_field.get_lookup("icontains")(self.lhs, self.rhs)
        return lookup.as_sql(compiler, connection)


CharField.register_lookup(ILike)
TextField.register_lookup(ILike)


def text_filter(query: str, fields: tuple[str, ...]) -> Q:
    """``Q`` matching rows where any of ``fields`` contains ``query`` (case-insensitive)."""
    query = query.strip()
    return reduce(or_, (Q(**{f"{field}__ilike": query}) for field in fields))


class DocumentMatch(Expression):
    """``<this query's assistant table>.search_document @@ to_tsquery(…)``: the stored generated column
    (core/migrations/0008_search_trigram.py, not a model field) of the table *this* query reads.

    Named at compile time from the compiler's own base alias: a hard-coded ``"core_assistant"."search_document"``
    inside a subquery (the list's ids-first page, ``pk IN (… LIMIT 25)``, where the table is ``U0``) pointed at
    the outer row instead, so PostgreSQL re-ran the subquery for each of 100,000 rows (17 s for ``?q=refund``)
    and the page's ids were chosen by the outer row's words, not their own."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, tsquery: str) -> None:
        super().__init__()
        self.tsquery = tsquery

    def as_sql(self, compiler, connection):
        alias = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{alias}.\"search_document\" @@ to_tsquery('english'::regconfig, %s)", (self.tsquery,)


ASSISTANT_SHORT_FIELDS = ("name", "legacy_id", "model")
ASSISTANT_PROSE_FIELDS = ("instructions", "description")


def prefix_tsquery(query: str) -> str:
    """``refund bill`` → ``refund:* & bill:*`` (words only: no operator of the user's reaches to_tsquery)."""
    words = re.findall(r"\w+", query)[:8]
    return " & ".join(f"{word}:*" for word in words)


# An OpenAI assistant id (or the start of one): looked up by prefix on ``legacy_id`` alone, which the unique
# column's ``varchar_pattern_ops`` index (Django adds a ``…_like`` index for unique CharFields on PostgreSQL)
# answers in a few index reads, instead of trigram scans over four columns and the words of every prompt.
_ASSISTANT_ID = re.compile(r"asst_[A-Za-z0-9_-]+")


def assistant_filter(query: str) -> Q:
    """Assistants whose name, legacy id or model contains ``query``, or whose instructions/description hold
    its words (see the module docstring). An ``asst_…`` query is an id lookup: exact or by prefix."""
    query = query.strip()
    if _ASSISTANT_ID.fullmatch(query):
        return Q(legacy_id__startswith=query)
    if connection.vendor != "postgresql":
        return text_filter(query, ASSISTANT_SHORT_FIELDS + ASSISTANT_PROSE_FIELDS)
    condition = text_filter(query, ASSISTANT_SHORT_FIELDS)
    tsquery = prefix_tsquery(query)
    if tsquery:
        condition |= Q(DocumentMatch(tsquery))
    return condition
