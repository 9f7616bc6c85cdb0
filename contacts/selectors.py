"""Reads for the contact list, its bulk actions and export: which contacts match, one page of them, how many.

- `contacts_filter(data, user=...)` is the one place a filter from a URL becomes a queryset: the shared
  ContactFilterSet over the rows the user may see (users.permissions.visible_to).
- `contact_page(queryset, sort=..., cursor=...)` reads one page with keyset pagination: the next page is
  `WHERE (sort columns, id) < (the last row's values)` in the sort's index order, never OFFSET, so page
  1,000 costs what page 1 does. Cursors are opaque and signed (django.core.signing).
- `contacts_count(queryset)` never counts a million rows on a page load: the planner's estimate for big
  results, an exact (bounded) count for small ones; `contacts_count_exact` counts on demand. `rows_count` counts
  the same way for any queryset (the admin's pagers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace

from django.core import signing
from django.db import OperationalError, connection, transaction
from django.db.models import BooleanField, Expression, F, QuerySet, Value

from contacts.filters import SORTS, ContactFilterSet
from contacts.models import Contact
from users.permissions import visible_to

__all__ = [
    "DEFAULT_SORT", "PAGE_SIZE", "ContactPage", "MatchCount", "contact_page", "contacts_count",
    "contacts_count_exact", "contacts_filter", "contacts_for_list", "cursor_for", "rows_count",
]

PAGE_SIZE = 50
DEFAULT_SORT = "-created"
#: Below this many matches (by the planner's estimate) the list shows an exact count, bounded by it.
EXACT_COUNT_LIMIT = 10_000
#: ... and when counting them takes at most this long; otherwise the estimate stands.
COUNT_MILLISECONDS = 40
CURSOR_SALT = "contacts.list.cursor"


def contacts_filter(data, *, user) -> ContactFilterSet:
    """The shared filter set, bound to `data` (a QueryDict or dict), over the contacts `user` may see.

    Call `.is_valid()` before `.qs`: custom field conditions are parsed there.
    """
    # The filter set reads request.user for owner=me; a task has a user but no request.
    return ContactFilterSet(data, queryset=visible_to(Contact.objects.all(), user),
                            request=SimpleNamespace(user=user))


def contacts_for_list(queryset: QuerySet) -> QuerySet:
    """What a row of the list (or a line of an export) shows, without a query per row."""
    return queryset.select_related("account", "owner", "lifecycle_stage").prefetch_related("tags")


# --- Keyset pages -----------------------------------------------------------------------------------

class _RowCompare(Expression):
    """`(a, b, id) < (x, y, z)`: a row-value comparison, which PostgreSQL answers from a (a, b, id) index."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, columns: list[str], op: str, values: list):
        super().__init__()
        self.lhs = [F(column) for column in columns]
        self.rhs = [Value(value) for value in values]
        self.op = op

    def get_source_expressions(self):
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs):
        self.lhs, self.rhs = exprs[:len(self.lhs)], exprs[len(self.lhs):]

    def as_sql(self, compiler, connection):
        parts, params = [], []
        for side in (self.lhs, self.rhs):
            sqls = []
            for expression in side:
                sql, expression_params = compiler.compile(expression)
                sqls.append(sql)
                params.extend(expression_params)
            parts.append(f"({', '.join(sqls)})")
        return f"{parts[0]} {self.op} {parts[1]}", params


@dataclass(frozen=True)
class _Sort:
    """A key of contacts.filters.SORTS as columns, a direction, and which column may be NULL."""

    key: str
    columns: tuple[str, ...]
    descending: bool

    @classmethod
    def get(cls, key: str) -> _Sort:
        spec = SORTS.get(key) or SORTS[DEFAULT_SORT]
        key = key if key in SORTS else DEFAULT_SORT
        return cls(key, tuple(column.lstrip("-") for column in spec), spec[0].startswith("-"))

    @property
    def nullable(self) -> bool:
        """Only the leading column may be NULL (last activity); a NULL sorts as the smallest value."""
        return Contact._meta.get_field(self.columns[0]).null

    def order(self, descending: bool, *, segment: str | None = None) -> list:
        columns = self.columns[1:] if segment == "null" else self.columns
        ordering = []
        for column in columns:
            if self.nullable and column == self.columns[0]:
                # Never-active contacts come last when newest activity is first, and first the other way round.
                ordering.append(F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_first=True))
            else:
                ordering.append(F(column).desc() if descending else F(column).asc())
        return ordering

    def values(self, contact: Contact) -> list:
        return [getattr(contact, column) for column in self.columns]


@dataclass
class ContactPage:
    contacts: list[Contact]
    sort: str
    next_cursor: str | None
    previous_cursor: str | None
    #: True on the first page: there is nothing before it.
    first: bool


def cursor_for(sort: str, values: list, *, before: bool) -> str:
    """An opaque, signed token for "the rows after (or before) this row, in this sort"."""
    payload = {"s": sort, "v": [value.isoformat() if hasattr(value, "isoformat") else value for value in values],
               "b": before}
    return signing.dumps(payload, salt=CURSOR_SALT, compress=True)


def _cursor_load(token: str, sort: _Sort) -> tuple[list, bool]:
    """(values, before) from a token; ValueError when it was tampered with or belongs to another sort."""
    try:
        payload = signing.loads(token, salt=CURSOR_SALT)
    except signing.BadSignature:
        raise ValueError("This page link is broken; showing the first page.") from None
    values = payload.get("v")
    if payload.get("s") != sort.key or not isinstance(values, list) or len(values) != len(sort.columns):
        raise ValueError("This page link belongs to another sort order; showing the first page.")
    fields = [Contact._meta.get_field(column) for column in sort.columns]
    return [None if value is None else field.to_python(value) for field, value in zip(fields, values, strict=True)], \
        bool(payload.get("b"))


def _rows_after(queryset: QuerySet, sort: _Sort, values: list | None, *, descending: bool, limit: int) -> list:
    """Up to `limit` rows strictly after `values` (None: from the start) going in `descending` order.

    A nullable leading column splits the order into two runs, non-NULL values and NULLs (NULL is the
    smallest value): each run is one index-ordered query, and a page that crosses from one run into the
    other costs a second one. A single `(a, id) < (x, y) OR a IS NULL` would defeat the index.
    """
    op = "<" if descending else ">"
    if not sort.nullable:
        if values is not None:
            queryset = queryset.filter(_RowCompare(list(sort.columns), op, values))
        return list(queryset.order_by(*sort.order(descending))[:limit])
    lead = sort.columns[0]
    runs = ["value", "null"] if descending else ["null", "value"]
    if values is not None:
        runs = runs[runs.index("null" if values[0] is None else "value"):]
    rows: list = []
    for index, run in enumerate(runs):
        if run == "null":
            part = queryset.filter(**{f"{lead}__isnull": True})
            if values is not None and index == 0:
                part = part.filter(_RowCompare(list(sort.columns[1:]), op, values[1:]))
        else:
            part = queryset.filter(**{f"{lead}__isnull": False})
            if values is not None and index == 0:
                part = part.filter(_RowCompare(list(sort.columns), op, values))
        rows += list(part.order_by(*sort.order(descending, segment=run))[:limit - len(rows)])
        if len(rows) >= limit:
            break
    return rows


def contact_page(queryset: QuerySet, *, sort: str = DEFAULT_SORT, cursor: str | None = None,
                 size: int = PAGE_SIZE) -> ContactPage:
    """One page of `queryset` in `sort` order, from a cursor of an earlier page (or the first page).

    Raises ValueError (with a message for the user) for a broken cursor.
    """
    order = _Sort.get(sort)
    values, before = _cursor_load(cursor, order) if cursor else (None, False)
    if before:
        # The page before: walk backwards from the cursor, then put the rows back in order.
        rows = _rows_after(queryset, order, values, descending=not order.descending, limit=size + 1)
        more_before = len(rows) > size
        contacts = list(reversed(rows[:size]))
        has_previous, has_next = more_before, True
    else:
        rows = _rows_after(queryset, order, values, descending=order.descending, limit=size + 1)
        contacts = rows[:size]
        has_previous, has_next = values is not None, len(rows) > size
    if not contacts:
        has_next = False
    return ContactPage(
        contacts=contacts, sort=order.key,
        next_cursor=cursor_for(order.key, order.values(contacts[-1]), before=False) if has_next else None,
        previous_cursor=cursor_for(order.key, order.values(contacts[0]), before=True)
        if has_previous and contacts else None,
        first=not has_previous,
    )


# --- Counts ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MatchCount:
    """How many contacts match: exact, at least (`more`), or the planner's estimate (`estimated`)."""

    value: int
    estimated: bool = False
    more: bool = False

    @property
    def exact(self) -> bool:
        return not (self.estimated or self.more)

    @property
    def label(self) -> str:
        """ "1,234 contacts", "about 1,000,000 contacts", "more than 10,000 contacts"."""
        number = f"{self.value:,} contact" + ("" if self.value == 1 and self.exact else "s")
        return f"about {number}" if self.estimated else f"more than {number}" if self.more else number


def _estimate(queryset: QuerySet) -> int:
    """The planner's row estimate for the query: free, from table statistics (pg_class.reltuples et al.)."""
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def _count_within(queryset: QuerySet, *, limit: int, milliseconds: int) -> int | None:
    """COUNT(*) of at most limit + 1 rows, or None when it would take longer than `milliseconds`.

    Planner estimates can be far off for correlated filters (a rep's own contacts with a common tag),
    so "small" is checked by the clock as well: the page never waits long for its count.
    """
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
                           [f"{milliseconds}ms"])
            previous = cursor.fetchone()[0]
            counted = queryset.order_by()[:limit + 1].count()
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != "57014":  # query_canceled: the timeout
            raise
        return None  # the savepoint's rollback restored the timeout
    return counted


def rows_count(queryset: QuerySet) -> int:
    """How many rows, for a pager over a big table (the read-only admin): contacts_count's number (it counts any
    queryset), and where that is only "more than" (counting took too long), a number above EXACT_COUNT_LIMIT,
    so a pager never offers to load all the rows."""
    count = contacts_count(queryset)
    return EXACT_COUNT_LIMIT + 1 if count.more else count.value


def contacts_count(queryset: QuerySet, *, page: ContactPage | None = None) -> MatchCount:
    """How many contacts match, cheaply: a first page that is also the last one already knows; otherwise
    the planner's estimate, replaced by an exact count when the estimate is small (up to EXACT_COUNT_LIMIT)
    and counting takes at most COUNT_MILLISECONDS."""
    if page is not None and page.first and page.next_cursor is None:
        return MatchCount(len(page.contacts))
    estimate = _estimate(queryset)
    if estimate > EXACT_COUNT_LIMIT:
        return MatchCount(estimate, estimated=True)
    counted = _count_within(queryset, limit=EXACT_COUNT_LIMIT, milliseconds=COUNT_MILLISECONDS)
    if counted is None:
        return MatchCount(len(page.contacts) if page else 0, more=True)
    if counted > EXACT_COUNT_LIMIT:
        return MatchCount(EXACT_COUNT_LIMIT, more=True)
    return MatchCount(counted)


def contacts_count_exact(queryset: QuerySet) -> MatchCount:
    """Counts every match: for a confirmation, or when someone asks for the exact number."""
    return MatchCount(queryset.order_by().count())
