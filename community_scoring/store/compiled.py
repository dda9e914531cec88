"""Querysets compiled to SQL once and run again with new values: for reads made on every request (a leaderboard
page), whose Python time went mostly to building the queryset and compiling it (measured at 10k members: 1.2 to
2.0 ms of a page's 4 to 6.5 ms), though only a few values change from one request to the next.

A read is written as usual with the ORM, each changing value given as a ``Slot`` (``filter(persona=Slot(...))``);
``query_compile`` compiles it once; ``CompiledQuery.rows(name=value, ...)`` runs the SQL with the values, each
prepared for the database as the ORM prepares a literal of the slot's field, and returns the rows as ``values()``
returns them (dicts, the database converters applied); ``tuples()`` as ``values_list()`` does, ``instances()`` as
model instances. The SQL is Django's, so it is what the queryset runs on any database. A read's builder is
decorated with ``compiled_query``: called with its shape (which filters apply, the page size), it gives the compiled
query, compiled once per shape and database vendor in a process.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache, wraps
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import Field, Model, QuerySet, Value


class Slot(Value):
    """A value given when a compiled query runs (``CompiledQuery.rows(name=value)``), prepared for the database as
    a literal of ``output_field`` is. Renders as a bare placeholder, as a literal does."""

    def __init__(self, name: str, output_field: Field):
        super().__init__(name, output_field=output_field)
        self.name = name

    def as_sql(self, compiler, connection):
        return "%s", [self]

    def db_value(self, value: Any, connection) -> Any:
        return self.output_field.get_db_prep_value(value, connection, prepared=False)


@dataclass(frozen=True)
class CompiledQuery:
    """A ``values()`` queryset's SQL, its parameters (constants, and Slots to fill), its row names and converters."""

    alias: str
    sql: str | None  # None: the queryset can match nothing (no query is run)
    params: tuple[Any, ...]
    names: tuple[str, ...]
    converters: tuple[tuple[int, tuple, Any], ...]  # (column, converter functions, expression)

    def rows(self, **values: Any) -> list[dict[str, Any]]:
        """The rows for these slot values (a slot the query does not use may be given: it is ignored)."""
        names = self.names
        return [dict(zip(names, row)) for row in self.tuples(**values)]

    def tuples(self, **values: Any) -> list[tuple]:
        """The rows as ``values_list()`` gives them: tuples, columns in ``names``' order."""
        if self.sql is None:
            return []
        connection = connections[self.alias]
        params = [p.db_value(values[p.name], connection) if isinstance(p, Slot) else p for p in self.params]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            found = cursor.fetchall()
        if self.converters:
            found = [self._convert(list(row), connection) for row in found]
        return found

    def instances(self, model: type[Model], **values: Any) -> list[Model]:
        """The rows as ``model`` instances (``Model.from_db``, as a model queryset loads them): the columns must be
        ``concrete_attnames(model)``, or some of them in that order (the others deferred, as with ``only()``)."""
        names = self.names
        _columns_check(model, names)
        alias = self.alias
        return [model.from_db(alias, names, row) for row in self.tuples(**values)]

    def _convert(self, row: list, connection) -> tuple:
        for position, functions, expression in self.converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        return tuple(row)


def concrete_attnames(model: type[Model]) -> tuple[str, ...]:
    """The columns of ``model``'s fields as ``values()`` names them, in the order ``CompiledQuery.instances`` reads."""
    return tuple(field.attname for field in model._meta.concrete_fields)


@cache
def _columns_check(model: type[Model], names: tuple[str, ...]) -> None:
    """Model.from_db takes the field values in the fields' order: other columns would be loaded into wrong fields."""
    if [name for name in concrete_attnames(model) if name in names] != list(names):
        raise ValueError(f"columns {names} are not {model.__name__}'s fields in their order")


def query_compile(queryset: QuerySet) -> CompiledQuery:
    """Compile a ``values()`` queryset (filters may hold Slots) for ``CompiledQuery.rows``."""
    query = queryset.query
    if not query.selected:
        raise ValueError("query_compile takes a values() queryset")
    compiler = query.get_compiler(using=queryset.db)
    names = tuple(query.selected)  # as QuerySet.values() names a row's columns
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return CompiledQuery(alias=queryset.db, sql=None, params=(), names=names, converters=())
    columns = [selected[0] for selected in compiler.select[:compiler.col_count]]
    converters = tuple((position, tuple(functions), expression)
                       for position, (functions, expression) in compiler.get_converters(columns).items())
    return CompiledQuery(alias=queryset.db, sql=sql, params=tuple(params), names=names, converters=converters)


def compiled_query(build: Callable[..., QuerySet] | None = None, *, maxsize: int | None = 8):
    """Decorator for a function that builds a ``values()`` queryset (Slots for what changes per call) from its
    shape arguments (hashable): calling it gives the CompiledQuery, compiled once per shape and database vendor
    (the SQL is the vendor's) and kept for the process (the ``maxsize`` most recent shapes per vendor)."""
    def decorate(build: Callable[..., QuerySet]) -> Callable[..., CompiledQuery]:
        @lru_cache(maxsize=maxsize)
        def per_vendor(vendor: str, *args: Any, **kwargs: Any) -> CompiledQuery:
            return query_compile(build(*args, **kwargs))

        @wraps(build)
        def compiled(*args: Any, **kwargs: Any) -> CompiledQuery:
            return per_vendor(connection.vendor, *args, **kwargs)
        return compiled
    return decorate if build is None else decorate(build)
