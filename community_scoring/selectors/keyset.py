"""Keyset order over a queryset: by (sort value, id), both descending or both ascending, and the rows strictly
after a key. The API pages with it (api.pagination: cursors, positions); reads compiled once per shape
(selectors.leaderboards) build it into their SQL with the key as slots."""
from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet


def keyset_ordered(queryset: QuerySet, *, value_field: str, id_field: str, descending: bool) -> QuerySet:
    """`queryset` in the walk's order: value then id (id alone when the walk sorts by id)."""
    prefix = "-" if descending else ""
    if value_field == id_field:
        return queryset.order_by(f"{prefix}{id_field}")
    return queryset.order_by(f"{prefix}{value_field}", f"{prefix}{id_field}")


def keyset_after(queryset: QuerySet, *, value_field: str, id_field: str, descending: bool, value: Any,
                 last_id: Any) -> QuerySet:
    """The rows of `queryset` strictly after the key (value, last_id) in the walk's order."""
    after, upto = ("lt", "lte") if descending else ("gt", "gte")
    if value_field == id_field:
        return queryset.filter(**{f"{id_field}__{after}": last_id})
    # `value <= v AND (value < v OR id < i)`: the first term bounds the index scan, the second breaks ties.
    return queryset.filter(**{f"{value_field}__{upto}": value}).filter(
        Q(**{f"{value_field}__{after}": value}) | Q(**{f"{id_field}__{after}": last_id})
    )
