"""The influence recompute: one run record, scores computed for every member and swapped in atomically."""
from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import numpy as np
from django.db import transaction
from django.utils import timezone

from community_scoring.influence import formula
from community_scoring.influence.selectors import INFLUENCE_FIELDS as CONFIG_FIELDS
from community_scoring.influence.selectors import influence_config_load
from community_scoring.influence.graph import InfluenceGraph, graph_build, ids_to_index, reversals_read
from community_scoring.influence.models import INBOUND_EDGES_KEPT, InfluenceConfig, InfluenceRun
from community_scoring.influence.pagerank import pagerank_iterate, transition_matrix
from community_scoring.influence.selectors import influence_run_current
from community_scoring.influence.text_sentiment import sentiment_by_member, sentiment_score_pending
from community_scoring.influence.store import InfluenceStore, influence_store
from community_scoring.models import Member
from community_scoring.webhooks.services import webhook_events_enqueue

logger = logging.getLogger(__name__)


def influence_recompute(*, run_id: int | None = None, trigger: str = "command", ref_time: datetime | None = None,
                        before_commit=None, store: InfluenceStore | None = None, worker: str = "") -> InfluenceRun:
    """Recompute centrality, reach, sentiment and influence for every member and make them current.

    Safe to call twice with the same run id: only a pending run is started. One recompute runs at a time
    (a second one is recorded as skipped). Scores are written under the new run id and the run is marked
    done in the same transaction, so readers (who read the latest done run) see the previous run until it
    commits. `before_commit` is a hook for tests, called inside that transaction; `store` defaults to the
    database's own backend.
    """
    store = store or influence_store()
    if run_id is None:
        run = InfluenceRun.objects.create(trigger=trigger)
    else:
        run = InfluenceRun.objects.get(pk=run_id)
    started = timezone.now()
    claimed = InfluenceRun.objects.filter(pk=run.pk, status=InfluenceRun.Status.PENDING).update(
        status=InfluenceRun.Status.RUNNING, started_at=started, worker=worker
    )
    if not claimed:
        run.refresh_from_db()
        return run
    run.refresh_from_db()
    with store.recompute_lock() as acquired:
        if not acquired:
            run.status, run.finished_at = InfluenceRun.Status.SKIPPED, timezone.now()
            run.error = "another recompute was running"
            run.save(update_fields=["status", "finished_at", "error"])
            return run
        try:
            _recompute(run, store=store, ref_time=ref_time or started, before_commit=before_commit)
        except Exception as exc:
            logger.exception("influence run %s failed", run.pk)
            InfluenceRun.objects.filter(pk=run.pk).update(
                status=InfluenceRun.Status.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"
            )
            raise
    run.refresh_from_db()
    return run


def _previous_scores(store: InfluenceStore, previous: InfluenceRun | None, member_ids: np.ndarray
                     ) -> tuple[np.ndarray | None, np.ndarray]:
    """Warm start vector (None when there is no previous run) and the previous advocates' mask."""
    advocates = np.zeros(len(member_ids), dtype=bool)
    if previous is None or len(member_ids) == 0:
        return None, advocates
    rows = store.scores_read(run_id=previous.pk)
    if len(rows["member"]) == 0:
        return None, advocates
    idx = ids_to_index(member_ids, rows["member"])
    ok = idx >= 0
    x0 = np.full(len(member_ids), 1.0 / len(member_ids))
    x0[idx[ok]] = rows["centrality"][ok]
    advocates[idx[ok]] = rows["is_advocate"][ok]
    return x0, advocates


def _recompute(run: InfluenceRun, *, store: InfluenceStore, ref_time: datetime, before_commit) -> None:
    config = influence_config_load()
    snapshot = {name: getattr(config, name) for name in CONFIG_FIELDS}
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    t0 = clock
    texts = sentiment_score_pending(store=store, text_types=list(config.text_types))
    lap("sentiment_scoring")
    graph = graph_build(
        store=store,
        ref_time=ref_time,
        half_life_days=config.half_life_days,
        window_days=config.window_days,
        edge_weights=dict(config.edge_weights),
        reach_types=list(config.reach_types),
        reversals=reversals_read(),
        inbound_limit=INBOUND_EDGES_KEPT,
    )
    lap("graph_read")
    previous = influence_run_current()
    x0, previous_advocates = _previous_scores(store, previous, graph.member_ids)
    lap("previous_read")
    matrix, dangling = transition_matrix(graph.src, graph.dst, graph.weight, graph.n)
    lap("matrix_build")
    result = pagerank_iterate(matrix, dangling, damping=config.damping, tol=config.tolerance,
                              max_iter=config.max_iterations, x0=x0)
    del matrix
    lap("pagerank")
    window_start = ref_time - timedelta(days=config.window_days)
    written = sentiment_by_member(store=store, member_ids=graph.member_ids, window_start=window_start, received=False)
    received = sentiment_by_member(store=store, member_ids=graph.member_ids, window_start=window_start, received=True)
    lap("sentiment_read")
    excluded = np.isin(graph.member_ids, store.excluded_member_ids())
    scores = _scores(graph, result.scores, written, received, config, eligible=~excluded)
    lap("formula")
    new_advocates = scores["is_advocate"] & ~previous_advocates
    with transaction.atomic():
        store.scores_write(run_id=run.pk, member_ids=graph.member_ids, scores=scores)
        lap("write")
        store.inbound_edges_write(run_id=run.pk, edges=_inbound_rows(graph), action_types=graph.inbound.families)
        lap("inbound_edges")
        store.snapshots_write(run_id=run.pk, day=_utc_day(ref_time), member_ids=graph.member_ids, scores=scores)
        lap("snapshots")
        if new_advocates.any():
            _advocates_notify(run.pk, graph.member_ids, scores, np.flatnonzero(new_advocates))
        finished = timezone.now()
        InfluenceRun.objects.filter(pk=run.pk).update(
            status=InfluenceRun.Status.DONE, finished_at=finished, ref_time=ref_time, nodes=graph.n,
            edges=graph.edges, iterations=result.iterations, converged=result.converged, warm_start=x0 is not None,
            texts_scored=texts, duration_seconds=round(time.perf_counter() - t0, 4), timings=timings,
            config=snapshot, inbound_edges_kept=INBOUND_EDGES_KEPT,
        )
        if before_commit is not None:
            before_commit(run.pk)
        store.scores_publish(run_id=run.pk)
    lap("swap")
    _runs_prune(store, keep=config.keep_runs)
    timings["prune"] = round(time.perf_counter() - clock, 4)
    InfluenceRun.objects.filter(pk=run.pk).update(timings=timings, duration_seconds=round(time.perf_counter() - t0, 4))


def _inbound_rows(graph: InfluenceGraph) -> dict[str, np.ndarray]:
    """The graph's kept inbound edges as InfluenceEdge values: members by id, action_type an index into
    graph.inbound.families."""
    inbound = graph.inbound
    return {"member": graph.member_ids[inbound.member], "source": graph.member_ids[inbound.source],
            "action_type": inbound.family, "actions": inbound.actions, "weight": inbound.weight}


def _utc_day(ref_time: datetime) -> date:
    """The day a run's snapshot belongs to: the date of its ref_time in UTC."""
    return ref_time.astimezone(dt_timezone.utc).date()


def _scores(graph: InfluenceGraph, centrality: np.ndarray, written: dict, received: dict, config: InfluenceConfig,
            *, eligible: np.ndarray) -> dict[str, np.ndarray]:
    """Every InfluenceScore value per member (by field name), from the graph, PageRank and sentiment totals.

    `eligible`: members who may be flagged and who count in influence ranks and percentiles (not excluded)."""
    written_n = written["n"].astype(np.float64)
    received_n = received["n"].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        written_mean = np.where(written_n > 0, written["total"] / np.maximum(written_n, 1), np.nan)
        received_mean = np.where(received_n > 0, received["total"] / np.maximum(received_n, 1), np.nan)
        positive_share = np.where(written_n > 0, written["pos"] / np.maximum(written_n, 1), 0.0)
        negative_share = np.where(written_n > 0, written["neg"] / np.maximum(written_n, 1), 0.0)
    sentiment = formula.member_sentiment(
        written["total"], written_n, received["total"], received_n,
        received_weight=config.received_weight, prior=config.sentiment_prior,
    )
    n = len(centrality)
    centrality_percentile = formula.evidence_percentiles(
        centrality * n, graph.sources, prior=config.evidence_prior, decimals=8)
    reach_percentile = formula.evidence_percentiles(graph.reach, graph.reach, prior=config.evidence_prior)
    terms = formula.influence_scores(
        centrality_percentile, reach_percentile, sentiment, centrality_weight=config.centrality_weight,
        reach_weight=config.reach_weight, sentiment_weight=config.sentiment_weight,
    )
    advocate, detractor = formula.advocates_and_detractors(
        terms.base, sentiment, written["n"], eligible=eligible, advocate_min_influence=config.advocate_min_influence,
        advocate_min_sentiment=config.advocate_min_sentiment, detractor_min_influence=config.detractor_min_influence,
        detractor_max_sentiment=config.detractor_max_sentiment, min_texts=config.min_texts,
    )
    return {
        "centrality": centrality,
        "rank": formula.ranks(terms.influence, eligible=eligible),
        "percentile": formula.percentiles(terms.influence, decimals=6, reference=eligible),
        "centrality_percentile": centrality_percentile,
        "in_degree": graph.in_degree,
        "sources": graph.sources,
        "reach": graph.reach,
        "reach_percentile": reach_percentile,
        "sentiment_mean": written_mean,
        "sentiment_count": written["n"],
        "sentiment_positive_share": positive_share,
        "sentiment_negative_share": negative_share,
        "received_sentiment_mean": received_mean,
        "received_count": received["n"],
        "sentiment": sentiment,
        "influence_base": terms.base,
        "influence": terms.influence,
        "is_advocate": advocate,
        "is_detractor": detractor,
    }


def _advocates_notify(run_id: int, member_ids: np.ndarray, scores: dict, idx: np.ndarray) -> None:
    """became_advocate for each member who is an advocate in this run and was not in the previous one.

    One bulk call (the webhooks module reads subscriptions once and inserts deliveries in this transaction;
    they are sent after commit).
    """
    members: dict[int, dict] = {}
    ids = [int(member_ids[i]) for i in idx]
    for start in range(0, len(ids), 10_000):
        # Excluded members are never flagged; checked again here, as this is what leaves the system.
        for m in (Member.objects.filter(id__in=ids[start:start + 10_000], is_excluded=False, erased_at__isnull=True)
                  .values("id", "source", "external_id", "email")):
            members[m["id"]] = m
    payloads = []
    for i in idx:
        member = members.get(int(member_ids[i]))
        if member is None:
            continue
        payloads.append({
            "member_id": member["id"], "source": member["source"], "external_id": member["external_id"],
            "email": member["email"], "run_id": run_id, "influence": round(float(scores["influence"][i]), 4),
            "influence_base": round(float(scores["influence_base"][i]), 4),
            "centrality": float(scores["centrality"][i]), "rank": int(scores["rank"][i]),
            "sentiment": round(float(scores["sentiment"][i]), 4),
            "reason": formula.flag_reason(
                is_advocate=True, is_detractor=False, base=float(scores["influence_base"][i]),
                centrality_pct=float(scores["centrality_percentile"][i]),
                reach_pct=float(scores["reach_percentile"][i]), sentiment=float(scores["sentiment"][i]),
                texts=int(scores["sentiment_count"][i]), received=int(scores["received_count"][i])),
        })
    webhook_events_enqueue(event="became_advocate", payloads=payloads)


def _runs_prune(store: InfluenceStore, *, keep: int) -> int:
    """Delete the scores of finished runs beyond the newest `keep` (run records stay as the run log)."""
    old = list(
        InfluenceRun.objects.filter(status=InfluenceRun.Status.DONE, scores_pruned=False)
        .order_by("-id")
        .values_list("id", flat=True)[keep:]
    )
    if not old:
        return 0
    deleted = store.scores_delete(run_ids=old)
    InfluenceRun.objects.filter(id__in=old).update(scores_pruned=True)
    return deleted
