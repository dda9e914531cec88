"""What a timestamp the API reads is: ISO 8601 text, parsed once here for every door (events, outcomes, report and
calibration periods, the member list's date filters), so each refuses the same texts. A module of its own, below
every layer, since selectors (filters) need it as much as services do."""
from __future__ import annotations

from datetime import datetime


def moment_parse(value: str) -> datetime:
    """ISO 8601 text -> datetime (datetime.fromisoformat), refusing a NUL: CPython's parser stops reading an offset
    at one, so "2026-11-20T10:00:00Z\x00anything" would pass as a timestamp. ValueError when the text is not one."""
    if "\x00" in value:
        raise ValueError("NUL in a timestamp")
    return datetime.fromisoformat(value)
