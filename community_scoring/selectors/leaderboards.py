"""Leaderboards: who leads on interest, influence, advocacy, detraction, and who rose most over a period.

Every board leaves out excluded (staff) and erased members and can be narrowed to one persona. `period`
(7d/30d/90d/all):
 - interest, influence, advocates, detractors: members active within the period (last activity in the window),
   ranked by their current score; since interest decays, the current score already favours recent activity;
 - rising: members active within the period ranked by gain = current interest score - their score at its
   start (their snapshot on the latest snapshot day on or before the start; 0 when they had none that day,
   e.g. had not joined). "all" = gain from nothing. Inactive members only decay, so they cannot rise.
Each returns an ordered-by-nothing queryset plus the field it ranks by; the API pages it with a keyset on
(rank value, member id), descending. Interest boards rank by InterestScore.rank_key (the score valued at one
recent instant, re-keyed every few minutes) and show every value at the read's instant (board_rows_value).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.core.cache import cache
from django.db.models import F, FilteredRelation, Max, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from community_scoring.influence import selectors as influence_selectors
from community_scoring.models import InterestScore, ScoreSnapshot
from community_scoring.selectors.interest import interest_rows_value
from community_scoring.selectors.members import period_since

BOARDS = ("interest", "influence", "advocates", "detractors", "rising")
# What a leaderboard row shows of a member (not attributes and the rest): narrower rows, faster pages.
MEMBER_FIELDS = ("member__id", "member__source", "member__external_id", "member__display_name", "member__persona",
                 "member__email", "member__is_excluded")
INTEREST_FIELDS = ("score", "engagement", "fit", "stage", "sales_stage", "primary_topic", "last_activity_at", "ref_time",
                   "rank_key")


@dataclass(frozen=True)
class Leaderboard:
    """A board's rows (InterestScore or influence rows, member joined) and the field they are ranked by."""

    board: str
    rows: QuerySet
    rank_field: str
    id_field: str = "member_id"


def _interest_rows(*, persona: str | None) -> QuerySet[InterestScore]:
    rows = (
        InterestScore.objects.select_related("member").only("member_id", *INTEREST_FIELDS, *MEMBER_FIELDS)
        .filter(member__is_excluded=False, member__erased_at__isnull=True)
    )
    if persona:
        rows = rows.filter(member__persona=persona)
    return rows


def leaderboard_interest(*, period: str = "all", persona: str | None = None) -> Leaderboard:
    since = period_since(period)
    rows = _interest_rows(persona=persona)
    if since is not None:
        rows = rows.filter(last_activity_at__gte=since)
    return Leaderboard(board="interest", rows=rows, rank_field="rank_key")


def leaderboard_rising(*, period: str = "30d", persona: str | None = None) -> Leaderboard:
    since = period_since(period)
    rows = _interest_rows(persona=persona)
    if since is None:
        return Leaderboard(board="rising", rows=rows.annotate(baseline=Value(0.0), gain=F("rank_key"))
                           .filter(gain__gt=0), rank_field="gain")
    # Snapshots are daily for every scored member: the baseline day is the latest snapshot day on or before the
    # start, joined on (member, day) through the unique index, rather than a "latest per member" subquery.
    day = ScoreSnapshot.objects.filter(date__lte=since.date()).aggregate(day=Max("date"))["day"]
    rows = rows.filter(last_activity_at__gte=since)
    if day is None:
        baseline = Value(0.0)
    else:
        rows = rows.annotate(start=FilteredRelation("member__score_snapshots", condition=Q(member__score_snapshots__date=day)))
        baseline = Coalesce(F("start__score"), Value(0.0))
    rows = rows.annotate(baseline=baseline).annotate(gain=F("rank_key") - F("baseline")).filter(gain__gt=0)
    return Leaderboard(board="rising", rows=rows, rank_field="gain")


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


def leaderboard_influence(*, board: str = "influence", period: str = "all", persona: str | None = None) -> Leaderboard:
    """influence / advocates / detractors of the current run; `period` keeps members active within it."""
    since = period_since(period)
    rows = INFLUENCE_BOARDS[board](persona=persona, limit=None).select_related("member__interest").only(
        *INFLUENCE_FIELDS, *MEMBER_FIELDS, *(f"member__interest__{f}" for f in INTEREST_FIELDS),
    )
    if since is not None:
        rows = rows.filter(member__interest__last_activity_at__gte=since)
    return Leaderboard(board=board, rows=rows, rank_field="influence")


RISING_CACHE_SECONDS = 300
RISING_CACHED_ROWS = 1000


def rising_ranking(*, period: str, persona: str | None) -> list[tuple[float, int, float]]:
    """The top RISING_CACHED_ROWS of the rising board as (gain, member id, baseline), highest first.

    Computing gains means scoring every active member (about a second at 1M members), so the ranking is kept
    in the cache for RISING_CACHE_SECONDS per (period, persona): pages read it and then load only their rows.
    Deeper pages query live.
    """
    key = f"leaderboard:rising:{period}:{persona or ''}"
    ranked = cache.get(key)
    if ranked is None:
        rows = leaderboard_rising(period=period, persona=persona).rows.order_by("-gain", "-member_id")
        ranked = [tuple(r) for r in rows.values_list("gain", "member_id", "baseline")[:RISING_CACHED_ROWS]]
        cache.set(key, ranked, RISING_CACHE_SECONDS)
    return ranked


def leaderboard_rows_by_member(*, member_ids: list[int]) -> dict[int, InterestScore]:
    """Interest rows (member joined) of the given members, for pages of a precomputed ranking; members erased since
    the ranking was cached are left out."""
    rows = (InterestScore.objects.select_related("member").only("member_id", *INTEREST_FIELDS, *MEMBER_FIELDS)
            .filter(member__erased_at__isnull=True))
    return rows.in_bulk(member_ids)


def leaderboard_values(leaderboard: Leaderboard) -> QuerySet[dict[str, Any]]:
    """The board's rows as plain values of what a row shows (read back by ``leaderboard_row``): an API page loads
    these rather than model instances, whose construction (two or three per row, every field set one by one) was
    most of a page's Python time (measured at 10k members, a page of 50 rows loaded and made rows: 1.12 -> 0.69 ms
    of CPU on the interest board, 2.19 -> 1.50 ms on the influence board)."""
    if leaderboard.board in INFLUENCE_BOARDS:
        return leaderboard.rows.values(*INFLUENCE_FIELDS, *MEMBER_FIELDS, "member__interest",
                                       *(f"member__interest__{f}" for f in INTEREST_FIELDS))
    extra = ("baseline", "gain") if leaderboard.board == "rising" else ()
    return leaderboard.rows.values("member_id", *INTEREST_FIELDS, *MEMBER_FIELDS, *extra)


_MEMBER_NAMES = tuple((path, path.removeprefix("member__")) for path in MEMBER_FIELDS)
_MEMBERS_INTEREST = tuple((f"member__interest__{name}", name) for name in INTEREST_FIELDS)


def leaderboard_row(values: dict[str, Any], *, board: str, position: int, rank_field: str) -> dict[str, Any]:
    """One row of ``leaderboard_values`` as a board row: {position, value, member, interest, influence, baseline},
    the member and the score rows as objects with the models' attribute names (member.pk too), the interest row
    None for a member without one, as a page of model instances gives them."""
    member = SimpleNamespace(**{name: values[path] for path, name in _MEMBER_NAMES})
    member.pk = member.id
    if board in INFLUENCE_BOARDS:
        influence = SimpleNamespace(**{name: values[name] for name in INFLUENCE_FIELDS})
        interest = (None if values["member__interest"] is None
                    else SimpleNamespace(**{name: values[path] for path, name in _MEMBERS_INTEREST}))
    else:
        influence, interest = None, SimpleNamespace(**{name: values[name] for name in INTEREST_FIELDS})
    return {"position": position, "value": values[rank_field], "member": member, "interest": interest,
            "influence": influence, "baseline": values["baseline"] if board == "rising" else None}


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
