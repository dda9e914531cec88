"""Influence reads. Every selector reads the current run (the latest finished one) unless given a run, so a
caller sees one whole run or the previous one, never a mix.

Signatures are keyword-only; querysets are returned where a caller may page or filter further.
"""
from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from community_scoring.influence import formula
from community_scoring.influence.graph import inbound_edges, reversals_read
from community_scoring.influence.models import InfluenceConfig, InfluenceRun, InfluenceScore
from community_scoring.models import Member

# The influence parameters an admin edits (the columns of InfluenceConfig the influence document holds).
INFLUENCE_FIELDS = (
    "damping", "tolerance", "max_iterations", "edge_weights", "half_life_days", "window_days", "reach_types",
    "text_types", "centrality_weight", "reach_weight", "sentiment_weight", "sentiment_prior", "received_weight",
    "advocate_min_influence", "advocate_min_sentiment", "detractor_min_influence", "detractor_max_sentiment",
    "schedule_minutes", "keep_runs",
)


def influence_run_current() -> InfluenceRun | None:
    """The run whose scores are current: the latest finished one (None before the first run)."""
    return InfluenceRun.objects.filter(status=InfluenceRun.Status.DONE).order_by("-id").first()


def influence_runs(*, limit: int = 20) -> QuerySet[InfluenceRun]:
    """The newest runs first (any status): the run log."""
    return InfluenceRun.objects.order_by("-id")[:limit]


def run_record(run: InfluenceRun) -> dict[str, Any]:
    """A run record as plain data: started, finished, nodes, edges, iterations, duration and per-phase timings."""
    return {
        "id": run.pk, "status": run.status, "trigger": run.trigger,
        "started": run.started_at.isoformat() if run.started_at else None,
        "finished": run.finished_at.isoformat() if run.finished_at else None,
        "nodes": run.nodes, "edges": run.edges, "iterations": run.iterations, "converged": run.converged,
        "warm_start": run.warm_start, "texts_scored": run.texts_scored, "duration_seconds": run.duration_seconds,
        "timings": run.timings, "error": run.error,
    }


def _scores(run: InfluenceRun | None, persona: str | None) -> QuerySet[InfluenceScore]:
    run = run or influence_run_current()
    if run is None:
        return InfluenceScore.objects.none()
    qs = InfluenceScore.objects.filter(run=run, member__is_excluded=False).select_related("member")
    if persona:
        qs = qs.filter(member__persona=persona)
    return qs


def _limited(qs: QuerySet, limit: int | None) -> QuerySet:
    return qs if limit is None else qs[:limit]


def leaderboard_influence(
    *, persona: str | None = None, limit: int | None = 100, run: InfluenceRun | None = None
) -> QuerySet[InfluenceScore]:
    """Scores of the current run, most influential first (ties: more central first); excluded members left out.

    limit=None returns the unsliced queryset (for cursor paging).
    """
    return _limited(_scores(run, persona).order_by("-influence", "rank"), limit)


def advocates(*, persona: str | None = None, limit: int | None = 100, run: InfluenceRun | None = None
              ) -> QuerySet[InfluenceScore]:
    """Members with high influence and positive sentiment, most influential first."""
    return _limited(_scores(run, persona).filter(is_advocate=True).order_by("-influence", "rank"), limit)


def detractors(*, persona: str | None = None, limit: int | None = 100, run: InfluenceRun | None = None
               ) -> QuerySet[InfluenceScore]:
    """Members with high influence and negative sentiment, most influential first."""
    return _limited(_scores(run, persona).filter(is_detractor=True).order_by("-influence", "rank"), limit)


def influence_history(*, member, limit: int = 30) -> list[dict[str, Any]]:
    """The member's scores in the kept runs, oldest first: {run_id, at, influence, centrality, rank, ...}."""
    runs = (
        InfluenceRun.objects.filter(status=InfluenceRun.Status.DONE, scores_pruned=False)
        .order_by("-id")
        .values("id")[:limit]
    )
    # By (run, member): the unique index answers it; there is no index on member alone.
    rows = (
        InfluenceScore.objects.filter(member=member, run_id__in=runs)
        .order_by("-run_id")
        .values("run_id", "run__finished_at", "influence", "centrality", "rank", "percentile", "reach", "sentiment",
                "is_advocate", "is_detractor")[:limit]
    )
    return [
        {"run_id": r.pop("run_id"), "at": r.pop("run__finished_at"), **r} for r in reversed(list(rows))
    ]


def _run_setting(run: InfluenceRun, name: str) -> Any:
    """The value of an influence parameter a run used (InfluenceConfig's default if the run did not record it)."""
    config = run.config or {}
    return config[name] if name in config else InfluenceConfig._meta.get_field(name).get_default()


def _formula_terms(run: InfluenceRun, score: InfluenceScore) -> dict[str, Any]:
    """The formula's terms for one score, computed by formula.influence_scores with the weights the run used."""
    a, b = float(_run_setting(run, "centrality_weight")), float(_run_setting(run, "reach_weight"))
    g = float(_run_setting(run, "sentiment_weight"))
    terms = formula.influence_scores(score.percentile, score.reach_percentile, score.sentiment,
                                     centrality_weight=a, reach_weight=b, sentiment_weight=g)
    return {
        "expression": formula.EXPRESSION,
        "C_centrality_percentile": score.percentile, "R_reach_percentile": score.reach_percentile,
        "a_centrality_weight": a, "b_reach_weight": b, "base": float(terms.base),
        "s_sentiment": score.sentiment, "g_sentiment_weight": g, "sentiment_factor": float(terms.sentiment_factor),
        "influence": score.influence,
    }


def _inbound_edges_named(run: InfluenceRun, member, *, limit: int) -> list[dict[str, Any]]:
    """The member's top inbound edges at the run's time and settings, with each source's name and rank."""
    edge_rows = inbound_edges(
        member_id=member.pk, ref_time=run.ref_time, half_life_days=float(_run_setting(run, "half_life_days")),
        edge_weights=dict(_run_setting(run, "edge_weights")), reversals=reversals_read(), limit=limit,
    )
    # One query for the sources' names and their rank in this run.
    sources = {}
    if edge_rows:
        rank = InfluenceScore.objects.filter(run=run, member_id=OuterRef("pk")).values("rank")[:1]
        sources = {
            pk: (name, source_rank)
            for pk, name, source_rank in Member.objects.filter(pk__in=[e["member_id"] for e in edge_rows])
            .annotate(source_rank=Subquery(rank)).values_list("pk", "display_name", "source_rank")
        }
    for edge in edge_rows:
        edge["display_name"], edge["source_rank"] = sources.get(edge["member_id"], ("", None))
    return edge_rows


def influence_for_member(*, member, edges: int = 10, run: InfluenceRun | None = None) -> dict[str, Any] | None:
    """Why a member has their influence: scores, sentiment summary, the formula's terms with the weights the
    run used, the top inbound edges (who gives them influence, by action type) and their history.

    None when no run has scored this member yet.
    """
    if run is None:
        # The current run and the member's row in it, in one query.
        current = InfluenceRun.objects.filter(status=InfluenceRun.Status.DONE).order_by("-id").values("id")[:1]
        score = InfluenceScore.objects.select_related("run").filter(run_id=Subquery(current), member=member).first()
        if score is None:
            return None
        run = score.run
    else:
        score = InfluenceScore.objects.filter(run=run, member=member).first()
        if score is None:
            return None
    return {
        "member_id": member.pk,
        "run": run_record(run),
        "centrality": score.centrality,
        "rank": score.rank,
        "percentile": score.percentile,
        "in_degree": score.in_degree,
        "reach": score.reach,
        "reach_percentile": score.reach_percentile,
        "influence": score.influence,
        "is_advocate": score.is_advocate,
        "is_detractor": score.is_detractor,
        "sentiment": {
            "mean": score.sentiment_mean, "count": score.sentiment_count,
            "positive_share": score.sentiment_positive_share, "negative_share": score.sentiment_negative_share,
            "received_mean": score.received_sentiment_mean, "received_count": score.received_count,
            "blended": score.sentiment,
        },
        "formula": _formula_terms(run, score),
        "inbound_edges": _inbound_edges_named(run, member, limit=edges),
        "history": influence_history(member=member),
    }


def influence_config_load() -> InfluenceConfig:
    """The influence parameters' row; the model's defaults (unsaved) until someone saves it."""
    return InfluenceConfig.objects.filter(pk=1).first() or InfluenceConfig(pk=1)


def influence_config_get() -> dict[str, Any]:
    """The current influence parameters as plain data (field name -> value, plus updated_at)."""
    config = influence_config_load()
    data = {name: getattr(config, name) for name in INFLUENCE_FIELDS}
    data["updated_at"] = config.updated_at.isoformat() if config.updated_at else None
    return data
