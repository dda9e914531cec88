"""Leaderboard tables as the page shows them and the CSV repeats them: the same columns, rows and rounding.

A column knows its heading, how to read a row, and its kind (text, link to the member, number with decimals).
The page renders cells through `display`; the CSV writes `plain` (rounded the same, no thousands separators, so a
spreadsheet reads numbers; text that a spreadsheet would run as a formula gets a leading apostrophe).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from community_scoring.influence.selectors import member_flags
from community_scoring.pages.charts import number
from community_scoring.spreadsheet import spreadsheet_text


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    read: Callable[[dict], Any]
    decimals: int | None = None  # a number column when set
    pii: bool = False


def _interest(row: dict):
    return row.get("interest")


def _influence(row: dict):
    return row.get("influence")


def _get(obj, name):
    return getattr(obj, name) if obj is not None else None


def _reason(row: dict) -> str | None:
    influence = row.get("influence")
    if influence is None:
        return None
    return member_flags(influence, excluded=row["member"].is_excluded)["reason"]


def _last_active(row: dict) -> str | None:
    moment = _get(_interest(row), "last_activity_at")
    return moment.strftime("%Y-%m-%d") if isinstance(moment, datetime) else None


POSITION = Column("position", "#", lambda r: r["position"], decimals=0)
NAME = Column("member", "Member", lambda r: r["member"].display_name or r["member"].external_id)
EXTERNAL_ID = Column("external_id", "External id", lambda r: r["member"].external_id)
EMAIL = Column("email", "Email", lambda r: r["member"].email, pii=True)
PERSONA = Column("persona", "Persona", lambda r: r["member"].persona)
STAGE = Column("stage", "Stage", lambda r: _get(_interest(r), "stage"))
INTEREST = Column("interest", "Interest", lambda r: _get(_interest(r), "score"), decimals=1)
ENGAGEMENT = Column("engagement", "Engagement", lambda r: _get(_interest(r), "engagement"), decimals=1)
FIT = Column("fit", "Fit", lambda r: _get(_interest(r), "fit"), decimals=1)
LAST_ACTIVE = Column("last_active", "Last active", _last_active)
GAIN = Column("gain", "Gain", lambda r: r["value"], decimals=1)
BASELINE = Column("baseline", "At start", lambda r: r.get("baseline"), decimals=1)
INFLUENCE = Column("influence", "Influence", lambda r: _get(_influence(r), "influence"), decimals=1)
BASE = Column("base", "Before sentiment", lambda r: _get(_influence(r), "influence_base"), decimals=1)
RANK = Column("rank", "Influence rank", lambda r: _get(_influence(r), "rank"), decimals=0)
FOLLOWERS = Column("followers", "Followers", lambda r: _get(_influence(r), "in_degree"), decimals=0)
REACH = Column("reach", "Reach", lambda r: _get(_influence(r), "reach"), decimals=0)
SENTIMENT = Column("sentiment", "Sentiment", lambda r: _get(_influence(r), "sentiment"), decimals=2)
REASON = Column("reason", "Why", _reason)

BOARD_COLUMNS: dict[str, tuple[Column, ...]] = {
    "interest": (POSITION, NAME, EXTERNAL_ID, EMAIL, PERSONA, STAGE, INTEREST, ENGAGEMENT, FIT, LAST_ACTIVE),
    "rising": (POSITION, NAME, EXTERNAL_ID, EMAIL, PERSONA, STAGE, GAIN, BASELINE, INTEREST, LAST_ACTIVE),
    "influence": (POSITION, NAME, EXTERNAL_ID, EMAIL, PERSONA, INFLUENCE, BASE, RANK, FOLLOWERS, REACH, SENTIMENT,
                  STAGE),
    "advocates": (POSITION, NAME, EXTERNAL_ID, EMAIL, PERSONA, INFLUENCE, BASE, SENTIMENT, REASON),
    "detractors": (POSITION, NAME, EXTERNAL_ID, EMAIL, PERSONA, INFLUENCE, BASE, SENTIMENT, REASON),
}


def board_columns(board: str, *, can_see_pii: bool) -> tuple[Column, ...]:
    return tuple(c for c in BOARD_COLUMNS[board] if can_see_pii or not c.pii)


def display(column: Column, value: Any) -> str:
    """A cell as people read it: numbers rounded with thousands separators, blanks as a dash."""
    if value is None or value == "":
        return "-" if column.decimals is not None else ""
    if column.decimals is not None:
        return number(value, column.decimals)
    return str(value)


def plain(column: Column, value: Any) -> str:
    """A cell as the CSV writes it: the same rounding as the page, no separators; formula-safe text."""
    if value is None:
        return ""
    if column.decimals is not None:
        return f"{value:.{column.decimals}f}"
    return spreadsheet_text(str(value))
