"""Bulk upserts in one statement, without building model instances (the interest engine's hot path).

PostgreSQL: ``INSERT ... SELECT * FROM unnest(%s::type[], ...) ON CONFLICT (...) DO UPDATE SET col = EXCLUDED.col``
(one round trip, one parameter per column whatever the row count). Other databases (the embedded SQLite demo):
``executemany`` of ``INSERT ... VALUES ... ON CONFLICT``. Values are plain Python (dates, aware datetimes,
dicts for JSON columns); auto_now fields are not filled in: pass them.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import orjson
from django.db import connection, models, transaction
from django.db.models import Q


def pg_array(values) -> str:
    """A PostgreSQL array literal ('{1,2,NULL}', '{"a","b \\"c\\""}') for a list of plain values; cast it in SQL.

    psycopg2 sends a Python list as ARRAY[v1, v2, ...]: an expression of N constants that PostgreSQL parses one
    by one and, in ``col = ANY(...)``, does not hash (2,000 ids against 5,000 rows: 78 ms, a linear search per
    row). One literal is parsed once and hashed: 6 ms for the same query, measured.
    """
    values = values if isinstance(values, list) else list(values)
    # Fast paths for the common columns (strings, ids, timestamps; some missing): joins and whole-string escapes
    # instead of a call per element (the action insert's columns cost ~10 ms per 1,000 rows element by element).
    if not values:
        return "{}"
    kinds = set(map(type, values))
    if kinds <= _TEXT:
        literal = _text_array(values)
        if literal is not None:
            return literal
    elif kinds == {int}:
        return "{" + ",".join(map(str, values)) + "}"
    elif kinds <= _INTS:
        return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"
    elif kinds == {datetime}:
        return '{"' + '","'.join([v.isoformat() for v in values]) + '"}'
    return "{" + ",".join([_element(v) for v in values]) + "}"


_TEXT, _INTS = {str, type(None)}, {int, type(None)}


def _text_array(values: list[str | None]) -> str | None:
    """Strings and Nones as one literal, escaped in one pass; None if a value holds one of the markers used."""
    nulls = values.count(None)
    joined = "\x01".join(["\0" if v is None else v for v in values])  # "\0": no PostgreSQL string holds one
    if joined.count("\x01") != len(values) - 1 or joined.count("\0") != nulls:
        return None
    if "\\" in joined:
        joined = joined.replace("\\", "\\\\")
    if '"' in joined:
        joined = joined.replace('"', '\\"')
    literal = '{"' + joined.replace("\x01", '","') + '"}'
    return literal.replace('"\0"', "NULL") if nulls else literal


def _element(v) -> str:
    if v is None:
        return "NULL"
    if v is True or v is False:
        return "t" if v else "f"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, date):
        v = v.isoformat()
    elif not isinstance(v, str):
        v = str(v)
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _json_text(value: Any) -> str:
    """JSON text for a jsonb column: orjson (several times faster), or the stdlib for what orjson refuses
    (integers beyond 64 bits, non-string keys)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value)


def commit_without_flush() -> None:
    """The current transaction commits without waiting for its WAL flush (PostgreSQL; SET LOCAL: this
    transaction only). Callers say why losing it in a crash is acceptable."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


@models.Field.register_lookup
class AnyOf(models.Lookup):
    """``field__any_of=[...]`` -> ``field = ANY(%s)`` with the values as ONE array parameter (PostgreSQL).

    ``__in`` with 2,000 ids prepares every value through the field in Python and sends 2,000 parameters
    (~10 ms per query at that size, measured); the array goes as one literal. Use ids_q, which falls back to
    ``__in`` on other databases.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [pg_array(value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


models.ForeignObject.register_lookup(AnyOf)  # foreign keys keep their own lookup table


def ids_q(field: str, values) -> Q:
    """Q(field is one of values): one array parameter on PostgreSQL, ``__in`` elsewhere."""
    lookup = "any_of" if connection.vendor == "postgresql" else "in"
    return Q(**{f"{field}__{lookup}": list(values)})


def _db_type(field: models.Field) -> str:
    if isinstance(field, models.ForeignKey):
        return field.target_field.rel_db_type(connection)
    return field.db_type(connection)


@lru_cache(maxsize=None)
def _upsert_sql(model: type[models.Model], columns: tuple[str, ...], conflict: tuple[str, ...],
                update: tuple[str, ...], returning: tuple[str, ...], vendor: str) -> tuple[str, list[int]]:
    """The statement for one shape, built once (quoting and column types cost more than a one-row upsert)."""
    qn = connection.ops.quote_name
    meta = model._meta
    fields = [meta.get_field(name) for name in columns]
    names = ", ".join(qn(f.column) for f in fields)
    target = ", ".join(qn(meta.get_field(name).column) for name in conflict)
    if update:
        sets = ", ".join(f"{qn(meta.get_field(n).column)} = EXCLUDED.{qn(meta.get_field(n).column)}" for n in update)
        action = f"DO UPDATE SET {sets}"
    else:
        action = "DO NOTHING"
    json_columns = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    if vendor == "postgresql":
        unnest = ", ".join(f"%s::{_db_type(f)}[]" for f in fields)
        source = f"SELECT * FROM unnest({unnest})"
    else:
        source = f"VALUES ({', '.join(['%s'] * len(fields))})"
    sql = f"INSERT INTO {qn(meta.db_table)} ({names}) {source} ON CONFLICT ({target}) {action}"
    if returning:
        sql += f" RETURNING {', '.join(qn(meta.get_field(name).column) for name in returning)}"
    return sql, json_columns


def rows_upsert(
    model: type[models.Model],
    *,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    conflict: Sequence[str],
    update: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple]:
    """Insert ``rows`` (tuples in ``columns`` order, field names) or, on a ``conflict`` clash, update ``update``.

    With no ``update`` fields, clashing rows are left as they are (DO NOTHING). ``returning`` (PostgreSQL only):
    these fields of every row inserted or updated come back, one tuple per row; otherwise nothing does.
    """
    if not rows:
        return []
    if returning and connection.vendor != "postgresql":
        raise ValueError("rows_upsert(returning=...) needs PostgreSQL")
    sql, json_columns = _upsert_sql(model, tuple(columns), tuple(conflict), tuple(update), tuple(returning),
                                    connection.vendor)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array literal per column (see pg_array); dates and datetimes as ISO text, cast by the array type.
            arrays = [list(column) for column in zip(*rows)]
            for i in json_columns:
                arrays[i] = [None if v is None else _json_text(v) for v in arrays[i]]
            sized_execute(cursor, sql, [pg_array(column) for column in arrays], rows=len(rows))
            return cursor.fetchall() if returning else []
        else:
            ops = connection.ops

            def adapt(value: Any, index: int) -> Any:
                if index in json_columns:
                    return None if value is None else json.dumps(value)
                if isinstance(value, datetime):
                    return ops.adapt_datetimefield_value(value)
                if isinstance(value, date):
                    return ops.adapt_datefield_value(value)
                return value

            with transaction.atomic():  # one transaction, not one commit per row
                cursor.executemany(sql, [[adapt(v, i) for i, v in enumerate(row)] for row in rows])
            return []


_NAMED = re.compile(r"%\((\w+)\)s")
_POSITIONAL = re.compile(r"%s")

# Statements for at most this many rows run prepared (see sized_execute).
PREPARED_MAX_ROWS = 20


@lru_cache(maxsize=None)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """Placeholders as ``$1, $2...``: ``%(name)s`` (one number per name; the names in number order) or ``%s``
    (numbered in order; the names are their indexes)."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    text = _NAMED.sub(number, sql)
    if not names:
        count = iter(range(1, sql.count("%s") + 1))
        text = _POSITIONAL.sub(lambda _: f"${next(count)}", sql)
    return text.replace("%%", "%"), tuple(names)


def prepared_execute(cursor, name: str, sql: str, params: dict[str, Any] | Sequence[Any]) -> None:
    """Execute ``sql`` (``%(name)s`` or ``%s`` placeholders) as a server-side prepared statement (PostgreSQL).

    A statement of many CTEs costs PostgreSQL several milliseconds to plan (6 ms for the interest store's apply
    statement, measured), more than executing it for one event; even a one-row INSERT spends a good part of its
    time in parsing and planning. Prepared once per database session under ``name`` (PREPARE outlives
    transactions, rollbacks included), then run with EXECUTE: the plan is cached. The session's plan_cache_mode
    is set to force_generic_plan when the first statement is prepared, so the plan is made once (Django's own
    queries are not prepared statements, so they are not affected). Not for PgBouncer in transaction pooling
    mode (sessions are not kept).
    """
    raw = connection.connection
    state = getattr(connection, "_community_scoring_prepared", None)
    if state is None or state[0] is not raw:
        state = (raw, set())
        connection._community_scoring_prepared = state
    text, names = _positional(sql)
    if name not in state[1]:
        prefix = "SET plan_cache_mode = force_generic_plan; " if not state[1] else ""
        cursor.execute(f"{prefix}PREPARE {name} AS {text}")
        state[1].add(name)
    values = [params[n] for n in names] if names else list(params)
    cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(values))})" if values else f"EXECUTE {name}", values)


def sized_execute(cursor, sql: str, params: dict[str, Any] | Sequence[Any], *, rows: int) -> None:
    """Run ``sql`` prepared (generic plan, no planning) when it handles at most PREPARED_MAX_ROWS rows, else
    planned for its actual sizes (a generic plan, made without knowing them, can be much slower for 1,000 rows:
    ~7x for the interest store's apply statement, measured). The prepared statement's name derives from the text."""
    if rows <= PREPARED_MAX_ROWS and connection.vendor == "postgresql":
        prepared_execute(cursor, _statement_name(sql), sql, params)
    else:
        cursor.execute(sql, params)


@lru_cache(maxsize=None)
def _statement_name(sql: str) -> str:
    return "cs_" + hashlib.sha1(sql.encode()).hexdigest()[:16]
