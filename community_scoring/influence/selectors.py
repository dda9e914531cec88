"""Influence reads. Every selector reads the current run (the latest finished one) unless given a run, so a
caller sees one whole run or the previous one, never a mix.

Signatures are keyword-only; querysets are returned where a caller may page or filter further.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import BigIntegerField, DateField, OuterRef, QuerySet, Subquery

from community_scoring.influence import formula
from community_scoring.influence.graph import edge_order, inbound_edges, reversals_read
from community_scoring.influence.models import (
    INBOUND_EDGES_KEPT, InfluenceConfig, InfluenceEdge, InfluenceRun, InfluenceScore, InfluenceSnapshot,
)
from community_scoring.models import Member
from community_scoring.store.compiled import Slot, compiled_query, concrete_attnames

# The influence parameters an admin edits (the columns of InfluenceConfig the influence document holds).
INFLUENCE_FIELDS = (
    "damping", "tolerance", "max_iterations", "edge_weights", "half_life_days", "window_days", "reach_types",
    "text_types", "centrality_weight", "reach_weight", "sentiment_weight", "sentiment_prior", "received_weight",
    "evidence_prior", "min_texts", "advocate_min_influence", "advocate_min_sentiment", "detractor_min_influence",
    "detractor_max_sentiment",
    "schedule_minutes", "keep_runs",
)


def _runs_done() -> QuerySet[InfluenceRun]:
    return InfluenceRun.objects.filter(status=InfluenceRun.Status.DONE).order_by("-id")


@compiled_query
def _run_current_query() -> QuerySet:
    return _runs_done().values(*concrete_attnames(InfluenceRun))[:1]


def influence_run_current() -> InfluenceRun | None:
    """The run whose scores are current: the latest finished one (None before the first run)."""
    runs = _run_current_query().instances(InfluenceRun)
    return runs[0] if runs else None


@compiled_query
def _run_current_id_query() -> QuerySet:
    return _runs_done().values("id")[:1]


def influence_run_current_id() -> int | None:
    """The current run's id (influence_run_current), for reads that need no more of it (a leaderboard page):
    one small compiled query."""
    found = _run_current_id_query().rows()
    return found[0]["id"] if found else None


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


def _scores(run: InfluenceRun | int | Slot | None, persona: str | Slot | None) -> QuerySet[InfluenceScore]:
    """The run's scores (a run, its id or a slot for it; None: the current run), members shown only."""
    run = run or influence_run_current()
    if run is None:
        return InfluenceScore.objects.none()
    # Erased members (services.erasure) are hidden here, not excluded: they still count in everyone's ranks.
    qs = InfluenceScore.objects.filter(run=run, member__is_excluded=False, member__erased_at__isnull=True
                                       ).select_related("member")
    if persona:
        qs = qs.filter(member__persona=persona)
    return qs


def _limited(qs: QuerySet, limit: int | None) -> QuerySet:
    return qs if limit is None else qs[:limit]


def leaderboard_influence(
    *, persona: str | Slot | None = None, limit: int | None = 100, run: InfluenceRun | int | Slot | None = None
) -> QuerySet[InfluenceScore]:
    """Scores of the current run, most influential first (ties: higher member id first, as the API pages them);
    excluded members left out.

    limit=None returns the unsliced queryset (for cursor paging).
    """
    return _limited(_scores(run, persona).order_by("-influence", "-member_id"), limit)


def advocates(*, persona: str | Slot | None = None, limit: int | None = 100,
              run: InfluenceRun | int | Slot | None = None) -> QuerySet[InfluenceScore]:
    """Advocates (formula.advocates_and_detractors), most influential first; excluded members left out (they are
    never flagged; this also hides members excluded after the run)."""
    return _limited(_scores(run, persona).filter(is_advocate=True).order_by("-influence", "-member_id"), limit)


def detractors(*, persona: str | Slot | None = None, limit: int | None = 100,
               run: InfluenceRun | int | Slot | None = None) -> QuerySet[InfluenceScore]:
    """Detractors (formula.advocates_and_detractors), most influential first; excluded members left out."""
    return _limited(_scores(run, persona).filter(is_detractor=True).order_by("-influence", "-member_id"), limit)


def member_flags(score: InfluenceScore, *, excluded: bool) -> dict[str, Any]:
    """is_advocate, is_detractor and the reason (formula.flag_reason; None when neither) of a score row as they
    may be shown. A run never flags an excluded member; one excluded after the run is shown unflagged too."""
    if excluded or not (score.is_advocate or score.is_detractor):
        return {"is_advocate": False, "is_detractor": False, "reason": None}
    return {
        "is_advocate": score.is_advocate, "is_detractor": score.is_detractor,
        "reason": formula.flag_reason(
            is_advocate=score.is_advocate, is_detractor=score.is_detractor, base=score.influence_base,
            centrality_pct=score.centrality_percentile, reach_pct=score.reach_percentile, sentiment=score.sentiment,
            texts=score.sentiment_count, received=score.received_count,
        ),
    }


HISTORY_FIELDS = ("day", "run_id", "influence", "influence_base", "rank", "percentile", "centrality_percentile",
                  "reach", "sentiment", "is_advocate", "is_detractor")


@compiled_query(maxsize=16)
def _history_query(*, since: bool, limit: int) -> QuerySet:
    """influence_history's query for one shape (with or without ``since``, the limit)."""
    rows = InfluenceSnapshot.objects.filter(member_id=Slot("member_id", BigIntegerField()))
    if since:
        rows = rows.filter(day__gte=Slot("since", DateField()))
    # By (member, day): the unique index answers it, newest first (reversed by the caller).
    return rows.order_by("-day").values(*HISTORY_FIELDS)[:limit]


def influence_history(*, member, since: date | None = None, limit: int = 365) -> list[dict[str, Any]]:
    """The member's daily influence snapshots, oldest first, one per day a run scored them (the last run of
    that day): {day, run_id, influence, rank, ...}. `since`: from that day on; at most the last `limit` days."""
    query = _history_query(since=since is not None, limit=limit)
    return query.rows(member_id=member.pk, since=since)[::-1]


def _run_setting(run: InfluenceRun, name: str) -> Any:
    """The value of an influence parameter a run used (InfluenceConfig's default if the run did not record it)."""
    config = run.config or {}
    return config[name] if name in config else InfluenceConfig._meta.get_field(name).get_default()


def _formula_terms(run: InfluenceRun, score: InfluenceScore) -> dict[str, Any]:
    """The formula's terms for one score, computed by formula.influence_scores with the weights the run used."""
    a, b = float(_run_setting(run, "centrality_weight")), float(_run_setting(run, "reach_weight"))
    g = float(_run_setting(run, "sentiment_weight"))
    k = float(_run_setting(run, "evidence_prior"))
    terms = formula.influence_scores(score.centrality_percentile, score.reach_percentile, score.sentiment,
                                     centrality_weight=a, reach_weight=b, sentiment_weight=g)
    return {
        "expression": formula.EXPRESSION,
        "C_centrality_percentile": score.centrality_percentile, "R_reach_percentile": score.reach_percentile,
        "k_evidence_prior": k,
        "w_centrality": float(formula.evidence_weights([score.sources], prior=k)[0]),
        "w_reach": float(formula.evidence_weights([score.reach], prior=k)[0]),
        "a_centrality_weight": a, "b_reach_weight": b, "base": float(terms.base),
        "s_sentiment": score.sentiment, "g_sentiment_weight": g, "sentiment_factor": float(terms.sentiment_factor),
        "influence": score.influence,
    }


def _evidence(run: InfluenceRun, score: InfluenceScore) -> dict[str, Any]:
    """How much evidence the score rests on: counts, the evidence prior the run used, and the share of the
    influence base that is the member's own (formula.evidence_share) in numbers and in a word."""
    k = float(_run_setting(run, "evidence_prior"))
    share = float(formula.evidence_share(
        [score.sources], [score.reach], prior=k, centrality_weight=float(_run_setting(run, "centrality_weight")),
        reach_weight=float(_run_setting(run, "reach_weight")))[0])
    return {
        "followers": score.in_degree, "sources": score.sources, "reach": score.reach,
        "texts": score.sentiment_count, "replies_received": score.received_count, "prior": k,
        "min_texts": int(_run_setting(run, "min_texts")), "share": share, "label": formula.evidence_label(share),
    }


def _inbound_edges_named(run: InfluenceRun, member, *, limit: int) -> list[dict[str, Any]]:
    """The member's top inbound edges in the run, with each source's name and rank: those the run stored, or, for
    a run that stored fewer than `limit` per member (none before they were stored), aggregated from the log at
    the run's time and settings."""
    if limit <= 0:
        return []
    if run.inbound_edges_kept >= limit:
        return _inbound_edges_stored(run, member, limit=limit)
    return _inbound_edges_from_log(run, member, limit=limit)


def _source_rank(run_id: int | Slot, source: OuterRef) -> Subquery:
    """The rank of the member `source` refers to in the run (None when the run did not score them)."""
    return Subquery(InfluenceScore.objects.filter(run_id=run_id, member_id=source).values("rank")[:1])


@compiled_query
def _edges_stored_query() -> QuerySet:
    run_id = Slot("run_id", BigIntegerField())
    name = Member.objects.filter(pk=OuterRef("source_id")).values("display_name")[:1]
    return (InfluenceEdge.objects.filter(run_id=run_id, member_id=Slot("member_id", BigIntegerField()))
            .annotate(display_name=Subquery(name), source_rank=_source_rank(run_id, OuterRef("source_id")))
            .values_list("source_id", "action_type_id", "actions", "weight", "display_name", "source_rank"))


def _inbound_edges_stored(run: InfluenceRun, member, *, limit: int) -> list[dict[str, Any]]:
    """The edges the run kept for the member (InfluenceEdge), with the sources' names and ranks: one query."""
    edges = [{"member_id": source, "action_type": kind, "actions": actions, "weight": weight,
              "display_name": display_name or "", "source_rank": source_rank}
             for source, kind, actions, weight, display_name, source_rank
             in _edges_stored_query().tuples(run_id=run.pk, member_id=member.pk)]
    edges.sort(key=edge_order)
    return edges[:limit]


def _inbound_edges_from_log(run: InfluenceRun, member, *, limit: int) -> list[dict[str, Any]]:
    """The member's top inbound edges aggregated from the action log at the run's time and settings, with each
    source's name and rank."""
    edge_rows = inbound_edges(
        member_id=member.pk, ref_time=run.ref_time, half_life_days=float(_run_setting(run, "half_life_days")),
        edge_weights=dict(_run_setting(run, "edge_weights")), reversals=reversals_read(), limit=limit,
    )
    # One query for the sources' names and their rank in this run.
    sources = {}
    if edge_rows:
        sources = {
            pk: (name, source_rank)
            for pk, name, source_rank in Member.objects.filter(pk__in=[e["member_id"] for e in edge_rows])
            .annotate(source_rank=_source_rank(run.pk, OuterRef("pk"))).values_list("pk", "display_name", "source_rank")
        }
    for edge in edge_rows:
        edge["display_name"], edge["source_rank"] = sources.get(edge["member_id"], ("", None))
    return edge_rows


@compiled_query
def _score_query() -> QuerySet:
    """The member's row of a run (first(): ordered by id, as the partitioned table's index on (run, member)
    answers)."""
    return (InfluenceScore.objects.filter(run_id=Slot("run_id", BigIntegerField()),
                                          member_id=Slot("member_id", BigIntegerField()))
            .order_by("id").values(*concrete_attnames(InfluenceScore))[:1])


def influence_for_member(*, member, edges: int = INBOUND_EDGES_KEPT, run: InfluenceRun | None = None,
                         history_since: date | None = None) -> dict[str, Any] | None:
    """Why a member has their influence: scores, sentiment summary, the evidence behind them, the formula's terms
    with the weights the run used, why they are an advocate or detractor, the top inbound edges (who gives them
    influence, by action type) and their daily history (from `history_since`, by default the last 365 days).

    None when no run has scored this member yet.
    """
    # The current run first, then the member's row in it: two statements, never one with the run in a subquery.
    # On PostgreSQL a statement planned while a new run's partition was being attached, and executed after that
    # commit, saw the new run as current through its subquery but had no partition for it in its plan: no row,
    # and the audience view showed `influence: null` (issue 15). A statement that starts after the run is seen
    # as current is planned with its partition.
    run = run or influence_run_current()
    if run is None:
        return None
    scores = _score_query().instances(InfluenceScore, run_id=run.pk, member_id=member.pk)
    if not scores:
        return None
    score = scores[0]
    return {
        "member_id": member.pk,
        "run": run_record(run),
        "centrality": score.centrality,
        "rank": score.rank,
        "percentile": score.percentile,
        "centrality_percentile": score.centrality_percentile,
        "in_degree": score.in_degree,
        "sources": score.sources,
        "reach": score.reach,
        "reach_percentile": score.reach_percentile,
        "influence_base": score.influence_base,
        "influence": score.influence,
        **member_flags(score, excluded=member.is_excluded),
        "evidence": _evidence(run, score),
        "sentiment": {
            "mean": score.sentiment_mean, "count": score.sentiment_count,
            "positive_share": score.sentiment_positive_share, "negative_share": score.sentiment_negative_share,
            "received_mean": score.received_sentiment_mean, "received_count": score.received_count,
            "blended": score.sentiment,
        },
        "formula": _formula_terms(run, score),
        "inbound_edges": _inbound_edges_named(run, member, limit=edges),
        "history": influence_history(member=member, since=history_since),
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
