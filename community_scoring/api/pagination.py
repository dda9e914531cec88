"""Keyset ("cursor") paging for members and leaderboards.

A cursor stores the last row's sort value, its member id and its position, never an offset. The next page is
the rows strictly after (value, id) in the walk's order, read straight off the index.

Guarantee while scores change during a walk: every member whose sort value does not change between the first
and last page is returned exactly once and in order; new or re-scored rows never shift other rows (as an offset
would). A member whose value changes mid-walk is returned at most once more or missed, depending on whether it
moved to the unread or the already-read side of the cursor. Ordering by `id` (the default) is fully stable: every
member that exists for the whole walk is returned exactly once; use it for complete CRM syncs.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from community_scoring.selectors.keyset import keyset_after, keyset_ordered

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class KeysetOrder:
    """What the keyset compares: `value_field` then `id_field`, both descending or both ascending."""

    name: str
    value_field: str
    id_field: str
    descending: bool
    is_datetime: bool = False


@dataclass(frozen=True)
class KeysetSegment:
    """A slice of a keyset walk that an index can answer in order: the rows matching `condition`, ordered by
    (`value_field`, id), where `value_field` equals the walk's sort value on those rows. `value_field` None: the
    sort value is the constant `value` throughout the slice, ordered by id alone."""

    condition: Q
    value_field: str | None
    value: Any = None


@dataclass
class KeysetPage:
    rows: list
    next_cursor: str | None
    first_position: int


def page_size_parse(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({"page_size": [f"must be an integer from 1 to {MAX_PAGE_SIZE}"]})
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationError({"page_size": [f"must be an integer from 1 to {MAX_PAGE_SIZE}"]})
    return size


def _encode(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str, order: KeysetOrder) -> tuple[Any, int, int]:
    invalid = ValidationError({"cursor": ["invalid cursor; use the `next` link of a previous page unchanged"]})
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if payload["o"] != order.name:
            raise ValidationError({"cursor": ["this cursor belongs to another ordering or list"]})
        value, last_id, position = payload["v"], int(payload["i"]), int(payload["p"])
        if order.is_datetime and value is not None:
            value = datetime.fromisoformat(value)
        elif order.value_field != order.id_field:
            value = float(value) if not isinstance(value, int) else value
    except ValidationError:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError, AttributeError):
        raise invalid
    if position < 0:
        raise invalid
    return value, last_id, position


def _segments_rows(
    queryset: QuerySet, order: KeysetOrder, segments: list[KeysetSegment], after_key: tuple | None, limit: int
) -> list:
    """Up to `limit` rows after `after_key` (value, id), read segment by segment in the walk's order."""
    i, prefix = order.id_field, "-" if order.descending else ""
    after = "lt" if order.descending else "gt"
    rows: list = []
    for segment in segments:
        if len(rows) >= limit:
            break
        part = queryset.filter(segment.condition)
        if segment.value_field is None:
            part = part.order_by(f"{prefix}{i}")
            if after_key is not None:
                value, last_id = after_key
                if value == segment.value:
                    part = part.filter(**{f"{i}__{after}": last_id})
                elif (segment.value > value) if order.descending else (segment.value < value):
                    continue  # the whole segment lies before the cursor
        else:
            walk = {"value_field": segment.value_field, "id_field": i, "descending": order.descending}
            part = keyset_ordered(part, **walk)
            if after_key is not None:
                part = keyset_after(part, **walk, value=after_key[0], last_id=after_key[1])
        rows.extend(part[: limit - len(rows)])
    return rows


def keyset_paginate(
    *, queryset: QuerySet, order: KeysetOrder, cursor: str | None, page_size: int,
    segments: list[KeysetSegment] | None = None,
) -> KeysetPage:
    """One page of `queryset` in `order`, after `cursor` (None = first page).

    `segments` (optional) split the walk into slices read one after another, in the walk's order, each from an
    index (e.g. positive / zero-or-missing / negative scores, when the sort value is a COALESCE over a left join
    that no index covers); together they must cover the queryset exactly once.
    """
    walk = {"value_field": order.value_field, "id_field": order.id_field, "descending": order.descending}

    def rows_after(after_key: tuple | None, limit: int) -> list:
        if segments:
            return _segments_rows(queryset, order, segments, after_key, limit)
        ordered = keyset_ordered(queryset, **walk)
        if after_key is not None:
            ordered = keyset_after(ordered, **walk, value=after_key[0], last_id=after_key[1])
        return list(ordered[:limit])

    return keyset_page(rows_after=rows_after, order=order, cursor=cursor, page_size=page_size)


def keyset_page(
    *, rows_after: Callable[[tuple | None, int], list], order: KeysetOrder, cursor: str | None, page_size: int
) -> KeysetPage:
    """One page after `cursor` (None = first page) of a walk read by `rows_after(key, limit)`: up to `limit` rows
    strictly after the key (value, id) in `order` (key None: from the start). keyset_paginate reads a queryset so;
    a read compiled once per shape (selectors.leaderboards.leaderboard_page) is given directly."""
    position, after_key = 0, None
    if cursor:
        value, last_id, position = _decode(cursor, order)
        after_key = (value, last_id)
    return _page(rows_after(after_key, page_size + 1), order, position, page_size)


def _page(rows: list, order: KeysetOrder, position: int, page_size: int) -> KeysetPage:
    v, i = order.value_field, order.id_field
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        last_value = _attr(last, v)
        if isinstance(last_value, datetime):
            last_value = last_value.isoformat()
        next_cursor = _encode({"o": order.name, "v": last_value, "i": _attr(last, i), "p": position + page_size})
    return KeysetPage(rows=rows, next_cursor=next_cursor, first_position=position + 1)


def keyset_paginate_ranked(
    *, ranked: list[tuple[Any, int]], cut_short: bool, order: KeysetOrder, cursor: str | None, page_size: int
) -> tuple[list[tuple], str | None, int] | None:
    """A page of an already ranked list of (value, id, ...) tuples (descending), with the same cursors as
    keyset_paginate; None when the page runs past the end of a list that was `cut_short` (page the queryset)."""
    start = 0
    if cursor:
        value, last_id, position = _decode(cursor, order)
        start = next((k for k, row in enumerate(ranked) if (row[0], row[1]) < (value, last_id)), len(ranked))
        position_first = position
    else:
        position_first = 0
    rows = ranked[start:start + page_size + 1]
    if len(rows) <= page_size and cut_short:
        return None
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_cursor = _encode({"o": order.name, "v": rows[-1][0], "i": rows[-1][1], "p": position_first + page_size})
    return rows, next_cursor, position_first + 1


def _attr(obj: Any, path: str) -> Any:
    if isinstance(obj, dict):
        return obj[path]
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj
