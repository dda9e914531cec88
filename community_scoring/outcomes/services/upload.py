"""Outcomes from a CSV file (the admin's upload page): each row is one outcome for outcomes_record.

The header names the columns, in any order: source, outcome_id, type, occurred_at, at least one of external_id,
email and crm_id, and optionally reason and value. A file that cannot be read as such (not UTF-8, no header, an
unknown or missing column, too many rows) raises OutcomeFileError and records nothing; a bad row is rejected alone.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from community_scoring.outcomes.services.intake import (
    MEMBER_KEYS, REJECTED, OutcomeIn, OutcomeMemberIn, outcomes_record,
)

CSV_COLUMNS = ("source", "outcome_id", "type", "occurred_at", "external_id", "email", "crm_id", "reason", "value")
CSV_REQUIRED = ("source", "outcome_id", "type", "occurred_at")
CSV_ROWS_MAX = 5_000  # one request: about 6 s of work on a busy two-core machine
CSV_BYTES_MAX = 5 * 1024 * 1024


class OutcomeFileError(ValueError):
    """The file as a whole cannot be read as outcomes; the message says why, for the person who uploaded it."""


@dataclass
class RowResult:
    line: int  # the row's line in the file (the header is line 1)
    outcome_id: str | None
    status: str
    errors: dict[str, list[str]] = field(default_factory=dict)


def _header(row: list[str]) -> list[str]:
    names = [name.strip().lower() for name in row]
    unknown = [name for name in names if name not in CSV_COLUMNS]
    if unknown:
        raise OutcomeFileError(f"unknown column(s) {', '.join(repr(n[:40]) for n in unknown)}; the columns are "
                               f"{', '.join(CSV_COLUMNS)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise OutcomeFileError(f"column(s) named twice: {', '.join(repeated)}")
    missing = [name for name in CSV_REQUIRED if name not in names]
    if missing:
        raise OutcomeFileError(f"missing column(s): {', '.join(missing)}")
    if not any(key in names for key in MEMBER_KEYS):
        raise OutcomeFileError("no member column: give external_id, email or crm_id")
    return names


def outcomes_csv_record(*, data: bytes, recorded_by: str = "", now: datetime | None = None) -> list[RowResult]:
    """Record the outcomes of a CSV file; one result per data row, in file order (blank lines skipped)."""
    if len(data) > CSV_BYTES_MAX:
        raise OutcomeFileError(f"the file is larger than {CSV_BYTES_MAX // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OutcomeFileError("the file is not UTF-8 text (save it as CSV UTF-8)") from None
    if "\x00" in text:
        raise OutcomeFileError("the file contains NUL bytes: it is not a CSV text file")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as error:
        raise OutcomeFileError(f"the file is not valid CSV: {error}") from None
    rows = [(line, row) for line, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise OutcomeFileError("the file is empty: the first line must name the columns")
    names = _header(rows[0][1])
    body = rows[1:]
    if not body:
        raise OutcomeFileError("the file has a header but no outcomes")
    if len(body) > CSV_ROWS_MAX:
        raise OutcomeFileError(f"at most {CSV_ROWS_MAX:,} outcomes per file, got {len(body):,}")
    results: list[RowResult | None] = [None] * len(body)
    outcomes, positions = [], []
    for i, (line, row) in enumerate(body):
        if len(row) != len(names):
            cells = dict(zip(names, row))
            results[i] = RowResult(line, cells.get("outcome_id") or None, REJECTED, {
                "non_field_errors": [f"expected {len(names)} cells as in the header, got {len(row)}"]})
            continue
        cells = {name: cell.strip() for name, cell in zip(names, row)}
        outcomes.append(OutcomeIn(
            source=cells["source"], outcome_id=cells["outcome_id"], type=cells["type"],
            occurred_at=cells["occurred_at"], reason=cells.get("reason", ""), value=cells.get("value", ""),
            member=OutcomeMemberIn(**{key: cells.get(key) or None for key in MEMBER_KEYS})))
        positions.append((i, line))
    for (i, line), result in zip(positions, outcomes_record(outcomes=outcomes, recorded_by=recorded_by, now=now)):
        results[i] = RowResult(line, result.outcome_id, result.status, result.errors)
    return results
