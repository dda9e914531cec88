"""Leaderboards: who leads on interest, influence, advocacy, detraction, and who rose most over a period.

Every board leaves out excluded (staff) and erased members and can be narrowed to one persona. `period`
(7d/30d/90d/all):
 - interest, influence, advocates, detractors: members active within the period (last activity in the window),
   ranked by their current score; since interest decays, the current score already favours recent activity;
 - rising: members active within the period ranked by gain = current interest score - their score at its
   start (their snapshot on the latest snapshot day on or before the start; 0 when they had none that day,
   e.g. had not joined). "all" = gain from nothing. Inactive members only decay, so they cannot rise.
Each returns an ordered-by-nothing queryset plus the field it ranks by (RANK_FIELDS); the API pages it with a keyset
on (rank value, member id), descending, through leaderboard_page, which runs the same queryset's SQL compiled once
per shape. Interest boards rank by InterestScore.rank_key (the score valued at one recent instant, re-keyed every
few minutes) and show every value at the read's instant (board_rows_value).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from django.core.cache import cache
from django.db.models import (
    BigIntegerField, CharField, DateField, DateTimeField, F, FilteredRelation, FloatField, Max, Q, QuerySet, Value,
)
from django.db.models.functions import Coalesce

from community_scoring.influence import selectors as influence_selectors
from community_scoring.models import InterestScore, ScoreSnapshot
from community_scoring.selectors.interest import interest_rows_value
from community_scoring.selectors.keyset import keyset_after, keyset_ordered
from community_scoring.selectors.members import period_since
from community_scoring.store.compiled import Slot, compiled_query

BOARDS = ("interest", "influence", "advocates", "detractors", "rising")
# What a leaderboard row shows of a member (not attributes and the rest): narrower rows, faster pages.
MEMBER_FIELDS = ("member__id", "member__source", "member__external_id", "member__display_name", "member__persona",
                 "member__email", "member__is_excluded")
INTEREST_FIELDS = ("score", "engagement", "fit", "stage", "sales_stage", "primary_topic", "last_activity_at", "ref_time",
                   "rank_key")


# What each board ranks by (descending, then member id descending: BOARD_ID_FIELD).
RANK_FIELDS = {"interest": "rank_key", "influence": "influence", "advocates": "influence", "detractors": "influence",
               "rising": "gain"}
BOARD_ID_FIELD = "member_id"


@dataclass(frozen=True)
class Leaderboard:
    """A board's rows (InterestScore or influence rows, member joined) and the field they are ranked by."""

    board: str
    rows: QuerySet
    rank_field: str
    id_field: str = BOARD_ID_FIELD


def _interest_rows(*, persona: str | Slot | None) -> QuerySet[InterestScore]:
    rows = (
        InterestScore.objects.select_related("member").only("member_id", *INTEREST_FIELDS, *MEMBER_FIELDS)
        .filter(member__is_excluded=False, member__erased_at__isnull=True)
    )
    if persona:
        rows = rows.filter(member__persona=persona)
    return rows


def _interest_board(*, since: datetime | Slot | None, persona: str | Slot | None) -> QuerySet[InterestScore]:
    rows = _interest_rows(persona=persona)
    if since is not None:
        rows = rows.filter(last_activity_at__gte=since)
    return rows


def leaderboard_interest(*, period: str = "all", persona: str | None = None) -> Leaderboard:
    return Leaderboard(board="interest", rows=_interest_board(since=period_since(period), persona=persona),
                       rank_field=RANK_FIELDS["interest"])


def _baseline_day(since: datetime) -> date | None:
    """The rising board's baseline day for a period starting at ``since``: the latest snapshot day on or before it."""
    return ScoreSnapshot.objects.filter(date__lte=since.date()).aggregate(day=Max("date"))["day"]


def _rising_board(*, since: datetime | Slot | None, persona: str | Slot | None,
                  day: date | Slot | None) -> QuerySet[InterestScore]:
    rows = _interest_rows(persona=persona)
    if since is None:
        return rows.annotate(baseline=Value(0.0), gain=F("rank_key")).filter(gain__gt=0)
    # Snapshots are daily for every scored member: the baseline day is the latest snapshot day on or before the
    # start, joined on (member, day) through the unique index, rather than a "latest per member" subquery.
    rows = rows.filter(last_activity_at__gte=since)
    if day is None:
        baseline = Value(0.0)
    else:
        rows = rows.annotate(start=FilteredRelation("member__score_snapshots", condition=Q(member__score_snapshots__date=day)))
        baseline = Coalesce(F("start__score"), Value(0.0))
    return rows.annotate(baseline=baseline).annotate(gain=F("rank_key") - F("baseline")).filter(gain__gt=0)


def leaderboard_rising(*, period: str = "30d", persona: str | None = None) -> Leaderboard:
    since = period_since(period)
    day = None if since is None else _baseline_day(since)
    return Leaderboard(board="rising", rows=_rising_board(since=since, persona=persona, day=day),
                       rank_field=RANK_FIELDS["rising"])


# Influence boards: rows of the current influence run (community_scoring.influence.selectors picks the run).
INFLUENCE_BOARDS = {
    "influence": influence_selectors.leaderboard_influence,
    "advocates": influence_selectors.advocates,
    "detractors": influence_selectors.detractors,
}


# What an influence board row shows of the run's score row.
INFLUENCE_FIELDS = ("run_id", "member_id", "influence", "influence_base", "centrality", "rank", "percentile",
                    "centrality_percentile", "reach_percentile", "in_degree", "reach", "sentiment", "sentiment_count",
                    "received_count", "is_advocate", "is_detractor")


def _influence_board(board: str, *, since: datetime | Slot | None, persona: str | Slot | None,
                     run: int | Slot | None) -> QuerySet:
    rows = INFLUENCE_BOARDS[board](persona=persona, limit=None, run=run).select_related("member__interest").only(
        *INFLUENCE_FIELDS, *MEMBER_FIELDS, *(f"member__interest__{f}" for f in INTEREST_FIELDS),
    )
    if since is not None:
        rows = rows.filter(member__interest__last_activity_at__gte=since)
    return rows


def leaderboard_influence(*, board: str = "influence", period: str = "all", persona: str | None = None) -> Leaderboard:
    """influence / advocates / detractors of the current run; `period` keeps members active within it."""
    rows = _influence_board(board, since=period_since(period), persona=persona, run=None)
    return Leaderboard(board=board, rows=rows, rank_field=RANK_FIELDS[board])


RISING_CACHE_SECONDS = 300
RISING_CACHED_ROWS = 1000


def rising_ranking(*, period: str, persona: str | None) -> list[tuple[float, int, float]]:
    """The top RISING_CACHED_ROWS of the rising board as (gain, member id, baseline), highest first.

    Computing gains means scoring every active member (about a second at 1M members), so the ranking is kept
    in the cache for RISING_CACHE_SECONDS per (period, persona): pages read it and then load only their rows
    (rising_rows). Deeper pages query live.
    """
    key = f"leaderboard:rising:{period}:{persona or ''}"
    ranked = cache.get(key)
    if ranked is None:
        rows = leaderboard_rising(period=period, persona=persona).rows.order_by("-gain", "-member_id")
        ranked = [tuple(r) for r in rows.values_list("gain", "member_id", "baseline")[:RISING_CACHED_ROWS]]
        cache.set(key, ranked, RISING_CACHE_SECONDS)
    return ranked


def _values(board: str, rows: QuerySet) -> QuerySet[dict[str, Any]]:
    """A board's rows as plain values of what a row shows (read back by ``leaderboard_row``): an API page loads
    these rather than model instances, whose construction (two or three per row, every field set one by one) was
    most of a page's Python time (measured at 10k members, a page of 50 rows loaded and made rows: 1.12 -> 0.69 ms
    of CPU on the interest board, 2.19 -> 1.50 ms on the influence board)."""
    if board in INFLUENCE_BOARDS:
        return rows.values(*INFLUENCE_FIELDS, *MEMBER_FIELDS, "member__interest",
                           *(f"member__interest__{f}" for f in INTEREST_FIELDS))
    extra = ("baseline", "gain") if board == "rising" else ()
    return rows.values("member_id", *INTEREST_FIELDS, *MEMBER_FIELDS, *extra)


def leaderboard_page(*, board: str, since: datetime | None, persona: str | None, after: tuple[float, int] | None,
                     limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of the board, highest first (RANK_FIELDS, then member id), strictly after the key
    ``after`` = (rank value, member id) (None: from the top), as values (read by ``leaderboard_row``); ``since``:
    the period's start (period_since). Run on every page read, so its SQL, the board queryset's own, is compiled
    once per shape (store.compiled): which filters apply and the page size; the values change per call."""
    values: dict[str, Any] = {"since": since, "persona": persona}
    if board in INFLUENCE_BOARDS:
        values["run"] = influence_selectors.influence_run_current_id()
        if values["run"] is None:
            return []
    elif board == "rising" and since is not None:
        values["day"] = _baseline_day(since)
    if after is not None:
        values["after_value"], values["after_id"] = after
    query = _page_query(board, since=since is not None, persona=bool(persona), day=values.get("day") is not None,
                        after=after is not None, limit=limit)
    return query.rows(**values)


@compiled_query(maxsize=512)
def _page_query(board: str, *, since: bool, persona: bool, day: bool, after: bool, limit: int) -> QuerySet:
    """leaderboard_page's query for one shape, its values as slots."""
    filters = {"since": Slot("since", DateTimeField()) if since else None,
               "persona": Slot("persona", CharField()) if persona else None}
    if board in INFLUENCE_BOARDS:
        rows = _influence_board(board, **filters, run=Slot("run", BigIntegerField()))
    elif board == "rising":
        rows = _rising_board(**filters, day=Slot("day", DateField()) if day else None)
    else:
        rows = _interest_board(**filters)
    walk = {"value_field": RANK_FIELDS[board], "id_field": BOARD_ID_FIELD, "descending": True}
    rows = keyset_ordered(_values(board, rows), **walk)
    if after:
        rows = keyset_after(rows, **walk, value=Slot("after_value", FloatField()),
                            last_id=Slot("after_id", BigIntegerField()))
    return rows[:limit]


def rising_rows(ranked: list[tuple[float, int, float]], *, first_position: int) -> list[dict[str, Any]]:
    """Board rows of a slice of the cached rising ranking (rising_ranking), the first at ``first_position``: the
    members' rows loaded in one query, each shown with its cached gain and baseline. Members erased or deleted
    since the ranking was computed are left out (the others keep their positions)."""
    query = _rows_by_member_query(len(ranked))
    loaded = {values["member_id"]: values
              for values in query.rows(**{f"member{k}": member_id for k, (_, member_id, _) in enumerate(ranked)})}
    return [_row(loaded[member_id], board="rising", position=first_position + k, value=gain, baseline=baseline)
            for k, (gain, member_id, baseline) in enumerate(ranked) if member_id in loaded]


@compiled_query(maxsize=64)
def _rows_by_member_query(members: int) -> QuerySet:
    """Interest rows (member joined) of ``members`` given members (slots member0, member1, ...), erased left out."""
    return _values("interest", InterestScore.objects.filter(
        member__erased_at__isnull=True, member__id__in=[Slot(f"member{k}", BigIntegerField()) for k in range(members)]))


_MEMBER_NAMES = tuple((path, path.removeprefix("member__")) for path in MEMBER_FIELDS)
_MEMBERS_INTEREST = tuple((f"member__interest__{name}", name) for name in INTEREST_FIELDS)


def leaderboard_row(values: dict[str, Any], *, board: str, position: int, rank_field: str) -> dict[str, Any]:
    """One row of ``leaderboard_page`` as a board row: {position, value, member, interest, influence, baseline},
    the member and the score rows as objects with the models' attribute names (member.pk too), the interest row
    None for a member without one, as a page of model instances gives them."""
    return _row(values, board=board, position=position, value=values[rank_field],
                baseline=values["baseline"] if board == "rising" else None)


def _row(values: dict[str, Any], *, board: str, position: int, value: float, baseline: float | None) -> dict[str, Any]:
    member = SimpleNamespace(**{name: values[path] for path, name in _MEMBER_NAMES})
    member.pk = member.id
    if board in INFLUENCE_BOARDS:
        influence = SimpleNamespace(**{name: values[name] for name in INFLUENCE_FIELDS})
        interest = (None if values["member__interest"] is None
                    else SimpleNamespace(**{name: values[path] for path, name in _MEMBERS_INTEREST}))
    else:
        influence, interest = None, SimpleNamespace(**{name: values[name] for name in INTEREST_FIELDS})
    return {"position": position, "value": value, "member": member, "interest": interest, "influence": influence,
            "baseline": baseline}


def board_rows_value(rows: list[dict], *, board: str, at: datetime) -> list[dict]:
    """A loaded page of board rows ({member, interest, value, baseline, ...}) as shown at ``at``: each interest
    row valued at that instant (selectors.interest.interest_rows_value), and on the interest and rising boards
    the shown value is the score (minus the baseline) at ``at``. The order is the stored key's (rank_key: at most
    a re-key interval old); the values shown are never stale."""
    interest_rows_value(((row["interest"], row["member"]) for row in rows), at=at)
    if board in ("interest", "rising"):
        for row in rows:
            if row["interest"] is not None:
                baseline = (row.get("baseline") or 0.0) if board == "rising" else 0.0
                row["value"] = row["interest"].score - baseline
    return rows


def leaderboard_get(*, board: str, period: str = "all", persona: str | None = None) -> Leaderboard:
    """The named board. Raises KeyError for an unknown board name."""
    if board == "interest":
        return leaderboard_interest(period=period, persona=persona)
    if board == "rising":
        return leaderboard_rising(period=period, persona=persona)
    if board in INFLUENCE_BOARDS:
        return leaderboard_influence(board=board, period=period, persona=persona)
    raise KeyError(board)
