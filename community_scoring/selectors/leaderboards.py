"""Leaderboards: who leads on interest, influence, advocacy, detraction, and who rose most over a period.

Every board leaves out excluded (staff) members and can be narrowed to one persona. `period` (7d/30d/90d/all):
 - interest, influence, advocates, detractors: members active within the period (last activity in the window),
   ranked by their current score; since interest decays, the current score already favours recent activity;
 - rising: members ranked by gain = current interest score - their score at the start of the period (the
   latest daily snapshot on or before that day; 0 when they had none yet). "all" = gain from nothing.
Each returns an ordered-by-nothing queryset plus the field it ranks by; the API pages it with a keyset on
(rank value, member id), descending.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, FloatField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from community_scoring.models import InterestScore, ScoreSnapshot
from community_scoring.selectors.members import period_since

BOARDS = ("interest", "influence", "advocates", "detractors", "rising")


@dataclass(frozen=True)
class Leaderboard:
    """A board's rows (InterestScore or influence rows, member joined) and the field they are ranked by."""

    board: str
    rows: QuerySet
    rank_field: str
    id_field: str = "member_id"


def _interest_rows(*, persona: str | None) -> QuerySet[InterestScore]:
    rows = InterestScore.objects.select_related("member").filter(member__is_excluded=False)
    if persona:
        rows = rows.filter(member__persona=persona)
    return rows


def leaderboard_interest(*, period: str = "all", persona: str | None = None) -> Leaderboard:
    since = period_since(period)
    rows = _interest_rows(persona=persona)
    if since is not None:
        rows = rows.filter(last_activity_at__gte=since)
    return Leaderboard(board="interest", rows=rows, rank_field="score")


def leaderboard_rising(*, period: str = "30d", persona: str | None = None) -> Leaderboard:
    since = period_since(period)
    rows = _interest_rows(persona=persona)
    if since is None:
        baseline = Value(0.0)
    else:
        start = ScoreSnapshot.objects.filter(member_id=OuterRef("member_id"), date__lte=since.date()).order_by("-date")
        baseline = Coalesce(Subquery(start.values("score")[:1], output_field=FloatField()), Value(0.0))
    rows = rows.annotate(baseline=baseline).annotate(gain=F("score") - F("baseline")).filter(gain__gt=0)
    return Leaderboard(board="rising", rows=rows, rank_field="gain")


def leaderboard_get(*, board: str, period: str = "all", persona: str | None = None) -> Leaderboard:
    """The named board. Raises KeyError for an unknown board name."""
    if board == "interest":
        return leaderboard_interest(period=period, persona=persona)
    if board == "rising":
        return leaderboard_rising(period=period, persona=persona)
    if board in ("influence", "advocates", "detractors"):
        from community_scoring.selectors import influence_link

        return influence_link.leaderboard(board=board, period=period, persona=persona)
    raise KeyError(board)
