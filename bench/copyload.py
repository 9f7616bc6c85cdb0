"""COPY helpers for the generator: text-format escaping, the columns a model needs, and a load
that builds secondary indexes and foreign keys once at the end instead of row by row.
"""

import json
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from django.db import models
from psycopg import sql

__all__ = ["NULL", "copy_text", "esc", "model_columns", "secondary_indexes_deferred"]

#: NULL in COPY text format.
NULL = "\\N"


def esc(value: str) -> str:
    """Escape a string for COPY text format (backslash, tab, newline, carriage return)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def copy_text(value) -> str:
    """Any Python value as one COPY text field."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        return esc(json.dumps(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return esc(str(value))


def model_columns(model: type[models.Model], generated: list[str]) -> tuple[list[str], str]:
    """The COPY column list for `model` and the text to append to every generated row.

    `generated` are the columns the generator writes, in order. Every other column gets its
    field default, so a field added by a later migration (with a default) does not break the
    generator. A NOT NULL field without any default, or a unique one whose default differs per
    row (uuid4), must be generated: that is an error here, naming the field, rather than a COPY
    failure later.
    """
    columns = list(generated)
    extra: list[str] = []
    for field in model._meta.concrete_fields:
        if field.column in generated or field.primary_key or field.generated:
            continue  # generated columns are computed by the database
        if getattr(field, "db_default", models.NOT_PROVIDED) is not models.NOT_PROVIDED:
            continue  # the database fills it
        if field.has_default():
            if field.unique and callable(field.default):
                raise RuntimeError(f"{model.__name__}.{field.name} is unique with a per-row default: "
                                   "bench/tables.py must generate it")
            columns.append(field.column)
            extra.append(copy_text(field.get_prep_value(field.get_default())
                                   if not isinstance(field, models.JSONField) else field.get_default()))
        elif field.blank and field.empty_strings_allowed and not field.unique:
            columns.append(field.column)  # an optional text field: Django stores "" when it is left empty
            extra.append("")
        elif not field.null:
            raise RuntimeError(
                f"{model.__name__}.{field.name} is NOT NULL without a default: bench/generate.py must generate it")
    return columns, "".join("\t" + value for value in extra)


def _deferrable(cursor, table: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The secondary indexes and the unique/foreign-key constraints of `table` that can be rebuilt."""
    cursor.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
        ORDER BY 1
    """, [table])
    indexes = cursor.fetchall()
    # A unique constraint that a foreign key relies on must stay.
    cursor.execute("""
        SELECT c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.conrelid = %s::regclass AND c.contype IN ('u', 'f')
          AND NOT (c.contype = 'u' AND EXISTS (
              SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid))
        ORDER BY c.contype DESC, c.conname
    """, [table])
    constraints = cursor.fetchall()
    return indexes, constraints


@contextmanager
def secondary_indexes_deferred(cursor, tables: Iterable[str], *, log: Callable[[str], None] = print):
    """Drop the secondary indexes and unique/foreign-key constraints of `tables`, then re-create them.

    Building an index once over sorted data is many times faster than maintaining it for every
    COPYed row, and one validating scan per foreign key beats a trigger per row. Run this inside
    a transaction: if the load fails, the rollback restores everything as it was.
    """
    saved: list[tuple[str, list, list]] = []
    for table in tables:
        indexes, constraints = _deferrable(cursor, table)
        for name, _definition in constraints:
            cursor.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)))
        for name, _definition in indexes:
            cursor.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(name)))
        saved.append((table, indexes, constraints))
    yield
    for table, indexes, constraints in saved:
        started = time.perf_counter()
        for _name, definition in indexes:
            cursor.execute(definition)
        # Unique constraints first (ORDER BY contype DESC puts 'u' before 'f').
        for name, definition in constraints:
            cursor.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                sql.Identifier(table), sql.Identifier(name)) + sql.SQL(definition))
        log(f"  indexes and constraints of {table}: {time.perf_counter() - started:.1f} s")
