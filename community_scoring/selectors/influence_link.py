"""Where the API's member selectors find influence: the rows of the current (latest finished) influence run.

Influence is stored per run (InfluenceScore, run x member); community_scoring.influence.selectors defines which
run is current. This module adapts those reads to the member list (a left join, sort keys, filters) and to
the audience view; the influence leaderboards are in selectors.leaderboards.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import FilteredRelation, Q, QuerySet

from community_scoring.influence import selectors as influence_selectors
from community_scoring.influence.models import INBOUND_EDGES_KEPT

RELATION = "current_influence"
SCORE_PATH = f"{RELATION}__influence"
SENTIMENT_MEAN_PATH = f"{RELATION}__sentiment_mean"


def current_run_id() -> int | None:
    run = influence_selectors.influence_run_current()
    return run.pk if run is not None else None


def member_sort_keys() -> dict[str, tuple[str, Any, bool]]:
    return {
        "influence": (SCORE_PATH, 0.0, False),
        "centrality": (f"{RELATION}__centrality", 0.0, False),
        "reach": (f"{RELATION}__reach", 0, False),
        "followers": (f"{RELATION}__in_degree", 0, False),
    }


def member_queryset_with_influence(queryset: QuerySet) -> QuerySet:
    """Left-join each member's row of the current run as `current_influence` (None: no run yet / not scored)."""
    run_id = current_run_id() or -1
    return queryset.annotate(
        **{RELATION: FilteredRelation("influence_scores", condition=Q(influence_scores__run_id=run_id))}
    ).select_related(RELATION)


def influence_audience(*, member, history_since: date | None = None) -> dict[str, Any] | None:
    """The member's current influence with its explanation (evidence, formula terms, advocate/detractor reason,
    top inbound edges: the INBOUND_EDGES_KEPT the run stored) and daily history from `history_since` (default: the last 365 days), or None."""
    return influence_selectors.influence_for_member(member=member, edges=INBOUND_EDGES_KEPT,
                                                    history_since=history_since)
