"""CSV export of members: rows stream from a server-side cursor in chunks, so memory stays flat at any size.

Interest columns (stage, interest_score, engagement, fit) are valued at one instant, the export's ``valued_at``
(its last column, and the response's X-Valued-At header), by the one rule every read uses
(store.base.interest_value_at)."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet
from rest_framework.renderers import BaseRenderer, JSONRenderer

from community_scoring.selectors.config import scoring_config_current
from community_scoring.selectors.influence_link import RELATION
from community_scoring.store.base import MemberFacts, interest_value_at
from community_scoring.spreadsheet import spreadsheet_text

CHUNK_SIZE = 10000
# (CSV column, path on the member queryset)
EXPORT_FIELDS: list[tuple[str, str]] = [
    ("id", "id"),
    ("source", "source"),
    ("external_id", "external_id"),
    ("display_name", "display_name"),
    ("email", "email"),
    ("crm_id", "crm_id"),
    ("persona", "persona"),
    ("joined_at", "joined_at"),
    ("is_excluded", "is_excluded"),
    ("stage", "interest__stage"),
    ("interest_score", "interest__score"),
    ("engagement", "interest__engagement"),
    ("fit", "interest__fit"),
    ("primary_topic", "interest__primary_topic"),
    ("last_activity_at", "interest__last_activity_at"),
    ("influence", f"{RELATION}__influence"),
    ("centrality", f"{RELATION}__centrality"),
    ("influence_rank", f"{RELATION}__rank"),
    ("influence_percentile", f"{RELATION}__percentile"),
    ("followers", f"{RELATION}__in_degree"),
    ("reach", f"{RELATION}__reach"),
    ("sentiment", f"{RELATION}__sentiment"),
    ("sales_stage", "interest__sales_stage"),  # last: the columns before it keep their places
]
EXPORT_COLUMNS = [*(column for column, _ in EXPORT_FIELDS), "valued_at"]
# Read beside the columns to value interest at the export's instant: engagement is stored valued at ref_time.
_VALUING_FIELDS = ["interest__ref_time"]
_COLUMN = {column: k for k, column in enumerate(EXPORT_COLUMNS)}


class _Line:
    def write(self, value: str) -> str:
        return value


TEXT_COLUMNS = {"source", "external_id", "display_name", "email", "crm_id", "persona", "stage", "primary_topic",
                "sales_stage"}
DATETIME_COLUMNS = {"joined_at", "last_activity_at", "valued_at"}


def _text(value):
    return spreadsheet_text(value)


def _datetime(value):
    return value.isoformat() if value is not None else None


def member_csv_lines(*, members: QuerySet, at: datetime) -> Iterator[str]:
    """Header then one CSV line per member, reading `CHUNK_SIZE` rows at a time from a server-side cursor, its
    interest valued at ``at``.

    The query runs (and the first chunk is fetched) before this returns, so a database error surfaces in the
    view as a 4xx rather than as a broken stream after a 200 status line. Only text cells are checked for
    formula starts and only datetimes reformatted (None is written as an empty cell by csv itself).
    """
    rows = members.values_list(*[path for _, path in EXPORT_FIELDS], *_VALUING_FIELDS).iterator(chunk_size=CHUNK_SIZE)
    first = next(rows, None)
    return _csv_lines(first, rows, at)


def _valued(row: tuple, at: datetime, config) -> list:
    """A row's columns with its interest valued at ``at`` (rows without an interest row are left blank)."""
    out = list(row[:len(EXPORT_FIELDS)])
    ref_time = row[len(EXPORT_FIELDS)]
    fit = out[_COLUMN["fit"]]
    if fit is not None:
        member = MemberFacts(out[_COLUMN["id"]], out[_COLUMN["persona"]] or "", {}, "", out[_COLUMN["external_id"]])
        value = interest_value_at(engagement=out[_COLUMN["engagement"]], ref_time=ref_time, fit=fit, member=member,
                                  config=config, when=at)
        out[_COLUMN["engagement"]], out[_COLUMN["interest_score"]] = value.engagement, value.score
        out[_COLUMN["stage"]] = value.stage
    out.append(at)
    return out


def _csv_lines(first, rows, at: datetime) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(EXPORT_COLUMNS)
    if first is None:
        return
    convert = [
        (k, _text if column in TEXT_COLUMNS else _datetime)
        for k, column in enumerate(EXPORT_COLUMNS) if column in TEXT_COLUMNS or column in DATETIME_COLUMNS
    ]

    config = scoring_config_current()

    def line(row) -> str:
        row = _valued(row, at, config)
        for k, func in convert:
            row[k] = func(row[k])
        return writer.writerow(row)

    buffer: list[str] = [line(first)]
    for row in rows:
        buffer.append(line(row))
        if len(buffer) >= 1000:
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)


class CSVRenderer(BaseRenderer):
    """Lets clients ask for text/csv; the export body streams past it, errors are rendered as JSON text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)
