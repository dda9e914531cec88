"""Influence writes: scheduling and the recompute (one run record, results swapped in atomically).

The influence parameters are changed through community_scoring.services.config (which records config versions
for both scores) and read through community_scoring.influence.selectors.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from community_scoring.influence import formula
from community_scoring.influence.graph import graph_build, ids_to_index, reversals_read
from community_scoring.influence.models import InfluenceConfig, InfluenceRun, InfluenceScore
from community_scoring.influence.pagerank import pagerank_iterate, transition_matrix
from community_scoring.influence.pgcopy import copy_in, is_postgresql, query_columns
from community_scoring.influence.selectors import INFLUENCE_FIELDS as CONFIG_FIELDS
from community_scoring.influence.selectors import influence_config_load, influence_run_current
from community_scoring.influence.sentiment import sentiment_by_member, sentiment_score_pending

logger = logging.getLogger(__name__)

SCHEDULE_TASK_NAME = "influence-recompute"
SCHEDULE_TASK = "community_scoring.influence.tasks.influence_recompute_scheduled"
LOCK_KEY = 0x1F1E_0004  # pg advisory lock: one recompute at a time


def influence_schedule_sync(*, config: InfluenceConfig | None = None):
    """Create or update the celery beat entry for scheduled recomputes (idempotent); 0 minutes disables it."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    config = config or influence_config_load()
    minutes = int(config.schedule_minutes)
    interval, _ = IntervalSchedule.objects.get_or_create(every=max(minutes, 1), period=IntervalSchedule.MINUTES)
    task, created = PeriodicTask.objects.get_or_create(
        name=SCHEDULE_TASK_NAME, defaults={"task": SCHEDULE_TASK, "interval": interval, "enabled": minutes > 0}
    )
    if not created and (task.interval_id != interval.pk or task.enabled != (minutes > 0) or task.task != SCHEDULE_TASK):
        task.interval, task.enabled, task.task = interval, minutes > 0, SCHEDULE_TASK
        task.save()
    return task


def influence_run_request(*, trigger: str = "manual") -> InfluenceRun:
    """Create a pending run and queue the recompute task once the caller's transaction commits."""
    from community_scoring.influence.tasks import influence_recompute_task

    run = InfluenceRun.objects.create(trigger=trigger)
    transaction.on_commit(lambda: influence_recompute_task.delay(run.pk))
    return run


def _lock_try() -> bool:
    if not is_postgresql():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _lock_release() -> None:
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def influence_recompute(*, run_id: int | None = None, trigger: str = "command", ref_time: datetime | None = None,
                        before_commit=None) -> InfluenceRun:
    """Recompute centrality, reach, sentiment and influence for every member and make them current.

    Safe to call twice with the same run id: only a pending run is started. One recompute runs at a time
    (a second one is recorded as skipped). Scores are written under the new run id and the run is marked
    done in the same transaction, so readers (who read the latest done run) see the previous run until it
    commits. `before_commit` is a hook for tests, called inside that transaction.
    """
    if run_id is None:
        run = InfluenceRun.objects.create(trigger=trigger)
    else:
        run = InfluenceRun.objects.get(pk=run_id)
    started = timezone.now()
    claimed = InfluenceRun.objects.filter(pk=run.pk, status=InfluenceRun.Status.PENDING).update(
        status=InfluenceRun.Status.RUNNING, started_at=started
    )
    if not claimed:
        run.refresh_from_db()
        return run
    run.refresh_from_db()
    if not _lock_try():
        run.status, run.finished_at, run.error = InfluenceRun.Status.SKIPPED, timezone.now(), "another recompute was running"
        run.save(update_fields=["status", "finished_at", "error"])
        return run
    try:
        _recompute(run, ref_time=ref_time or started, before_commit=before_commit)
    except Exception as exc:
        logger.exception("influence run %s failed", run.pk)
        InfluenceRun.objects.filter(pk=run.pk).update(
            status=InfluenceRun.Status.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"
        )
        raise
    finally:
        _lock_release()
    run.refresh_from_db()
    return run


def _previous_scores(previous: InfluenceRun | None, member_ids: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Warm start vector (None when there is no previous run) and the previous advocates' mask."""
    advocates = np.zeros(len(member_ids), dtype=bool)
    if previous is None or len(member_ids) == 0:
        return None, advocates
    f8 = "::float8" if is_postgresql() else ""
    rows = query_columns(
        f"SELECT member_id AS member, centrality{f8} AS centrality, "
        f"(CASE WHEN is_advocate THEN 1 ELSE 0 END){'::int2' if f8 else ''} AS advocate "
        "FROM influence_influencescore WHERE run_id = %s",
        [previous.pk], [("member", "int8"), ("centrality", "float8"), ("advocate", "int2")],
    )
    if len(rows["member"]) == 0:
        return None, advocates
    idx = ids_to_index(member_ids, rows["member"])
    ok = idx >= 0
    x0 = np.full(len(member_ids), 1.0 / len(member_ids))
    x0[idx[ok]] = rows["centrality"][ok]
    advocates[idx[ok]] = rows["advocate"][ok] == 1
    return x0, advocates


def _recompute(run: InfluenceRun, *, ref_time: datetime, before_commit) -> None:
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
    texts = sentiment_score_pending(text_types=list(config.text_types))
    lap("sentiment_scoring")
    graph = graph_build(
        ref_time=ref_time,
        half_life_days=config.half_life_days,
        window_days=config.window_days,
        edge_weights=dict(config.edge_weights),
        reach_types=list(config.reach_types),
        reversals=reversals_read(),
    )
    lap("graph_read")
    previous = influence_run_current()
    x0, previous_advocates = _previous_scores(previous, graph.member_ids)
    lap("previous_read")
    matrix, dangling = transition_matrix(graph.src, graph.dst, graph.weight, graph.n)
    lap("matrix_build")
    result = pagerank_iterate(matrix, dangling, damping=config.damping, tol=config.tolerance,
                              max_iter=config.max_iterations, x0=x0)
    del matrix
    lap("pagerank")
    window_start = ref_time - timedelta(days=config.window_days)
    written = sentiment_by_member(member_ids=graph.member_ids, window_start=window_start, received=False)
    received = sentiment_by_member(member_ids=graph.member_ids, window_start=window_start, received=True)
    lap("sentiment_read")
    scores = _scores(graph, result.scores, written, received, config)
    lap("formula")
    new_advocates = scores["is_advocate"] & ~previous_advocates
    with transaction.atomic():
        _scores_write(run.pk, graph.member_ids, scores)
        lap("write")
        if new_advocates.any():
            _advocates_notify(run.pk, graph.member_ids, scores, np.flatnonzero(new_advocates))
        finished = timezone.now()
        InfluenceRun.objects.filter(pk=run.pk).update(
            status=InfluenceRun.Status.DONE, finished_at=finished, ref_time=ref_time, nodes=graph.n,
            edges=graph.edges, iterations=result.iterations, converged=result.converged, warm_start=x0 is not None,
            texts_scored=texts, duration_seconds=round(time.perf_counter() - t0, 4), timings=timings,
            config=snapshot,
        )
        if before_commit is not None:
            before_commit(run.pk)
        _scores_publish(run.pk)
    lap("swap")
    _runs_prune(keep=config.keep_runs)
    timings["prune"] = round(time.perf_counter() - clock, 4)
    InfluenceRun.objects.filter(pk=run.pk).update(timings=timings, duration_seconds=round(time.perf_counter() - t0, 4))


def _scores(graph, centrality: np.ndarray, written: dict, received: dict, config: InfluenceConfig) -> dict:
    n = graph.n
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
    percentile = formula.centrality_percentiles(centrality)
    reach_percentile = formula.percentiles(graph.reach)
    terms = formula.influence_scores(
        percentile, reach_percentile, sentiment, centrality_weight=config.centrality_weight,
        reach_weight=config.reach_weight, sentiment_weight=config.sentiment_weight,
    )
    advocate, detractor = formula.advocates_and_detractors(
        terms.influence, sentiment, advocate_min_influence=config.advocate_min_influence,
        advocate_min_sentiment=config.advocate_min_sentiment, detractor_min_influence=config.detractor_min_influence,
        detractor_max_sentiment=config.detractor_max_sentiment,
    )
    return {
        "centrality": centrality,
        "rank": formula.ranks(centrality, graph.member_ids) if n else np.zeros(0, dtype=np.int64),
        "percentile": percentile,
        "in_degree": graph.in_degree,
        "reach": graph.reach,
        "reach_percentile": reach_percentile,
        "sentiment_mean": written_mean,
        "sentiment_count": written["n"],
        "sentiment_positive_share": positive_share,
        "sentiment_negative_share": negative_share,
        "received_sentiment_mean": received_mean,
        "received_count": received["n"],
        "sentiment": sentiment,
        "influence": terms.influence,
        "is_advocate": advocate,
        "is_detractor": detractor,
    }


SCORE_COLUMNS = (
    ("centrality", "float8"), ("rank", "int4"), ("percentile", "float8"), ("in_degree", "int4"), ("reach", "int4"),
    ("reach_percentile", "float8"), ("sentiment_mean", "float8"), ("sentiment_count", "int4"),
    ("sentiment_positive_share", "float8"), ("sentiment_negative_share", "float8"),
    ("received_sentiment_mean", "float8"), ("received_count", "int4"), ("sentiment", "float8"),
    ("influence", "float8"), ("is_advocate", "bool"), ("is_detractor", "bool"),
)
NULLABLE = ("sentiment_mean", "received_sentiment_mean")


def _scores_write(run_id: int, member_ids: np.ndarray, scores: dict) -> None:
    n = len(member_ids)
    if n == 0:
        return
    if is_postgresql():
        columns = [("run_id", "int8", np.full(n, run_id, dtype=np.int64)), ("member_id", "int8", member_ids)]
        columns += [(name, kind, scores[name]) for name, kind in SCORE_COLUMNS]
        nulls = {name: np.isnan(scores[name]) for name in NULLABLE}
        if _partitioned():
            _partition_write(run_id, columns, nulls)
        else:
            copy_in(InfluenceScore._meta.db_table, columns, nulls=nulls)
        return
    objs = []
    for i in range(n):
        values = {}
        for name, _ in SCORE_COLUMNS:
            value = scores[name][i].item()
            values[name] = None if name in NULLABLE and value != value else value
        objs.append(InfluenceScore(run_id=run_id, member_id=int(member_ids[i]), **values))
    InfluenceScore.objects.bulk_create(objs, batch_size=2000)


def _partitioned() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                       "WHERE c.relname = %s", [InfluenceScore._meta.db_table])
        return cursor.fetchone() is not None


def _partition_name(run_id: int) -> str:
    return f"{InfluenceScore._meta.db_table}_r{int(run_id)}"


def _partition_write(run_id: int, columns: list, nulls: dict) -> None:
    """The run's rows into a new table: COPY with no index to maintain, indexes built in bulk afterwards, then
    attached as the run's partition by _scores_publish. Called inside the swap transaction."""
    table, part = InfluenceScore._meta.db_table, _partition_name(run_id)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {part}")
        cursor.execute(f"CREATE TABLE {part} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    copy_in(part, columns, nulls=nulls)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute(f"ALTER TABLE {part} ADD CONSTRAINT {part}_unique UNIQUE (run_id, member_id)")
        cursor.execute(f"CREATE INDEX {part}_influence ON {part} (run_id, influence DESC)")
        # Proves every row belongs to the partition, so ATTACH does not scan the table again.
        cursor.execute(f"ALTER TABLE {part} ADD CONSTRAINT {part}_run CHECK (run_id = {int(run_id)})")


def _scores_publish(run_id: int) -> None:
    """Last statement of the swap transaction: attach the run's partition (if scores are partitioned). ATTACH
    locks the default partition, so readers wait for the commit that follows (milliseconds), never half a run."""
    if is_postgresql() and _partitioned():
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [_partition_name(run_id)])
            if cursor.fetchone()[0] is None:  # an empty community wrote no rows
                return
            cursor.execute(f"ALTER TABLE {InfluenceScore._meta.db_table} ATTACH PARTITION {_partition_name(run_id)} "
                           f"FOR VALUES IN ({int(run_id)})")


def _advocates_notify(run_id: int, member_ids: np.ndarray, scores: dict, idx: np.ndarray) -> None:
    """became_advocate for each member who is an advocate in this run and was not in the previous one.

    One bulk call (the webhooks module reads subscriptions once and inserts deliveries in this transaction;
    they are sent after commit).
    """
    from community_scoring.models import Member
    from community_scoring.webhooks.services import webhook_events_enqueue

    members: dict[int, dict] = {}
    ids = [int(member_ids[i]) for i in idx]
    for start in range(0, len(ids), 10_000):
        for m in Member.objects.filter(id__in=ids[start:start + 10_000]).values("id", "source", "external_id", "email"):
            members[m["id"]] = m
    payloads = []
    for i in idx:
        member = members.get(int(member_ids[i]))
        if member is None:
            continue
        payloads.append({
            "member_id": member["id"], "source": member["source"], "external_id": member["external_id"],
            "email": member["email"], "run_id": run_id, "influence": round(float(scores["influence"][i]), 4),
            "centrality": float(scores["centrality"][i]), "rank": int(scores["rank"][i]),
            "sentiment": round(float(scores["sentiment"][i]), 4),
        })
    webhook_events_enqueue(event="became_advocate", payloads=payloads)


def _runs_prune(*, keep: int) -> int:
    """Delete the scores of finished runs beyond the newest `keep` (run records stay as the run log)."""
    old = list(
        InfluenceRun.objects.filter(status=InfluenceRun.Status.DONE, scores_pruned=False)
        .order_by("-id")
        .values_list("id", flat=True)[keep:]
    )
    if not old:
        return 0
    partitioned = is_postgresql() and _partitioned()
    with connection.cursor() as cursor:
        # A run's own partition is dropped whole; rows written through the ORM (the default partition, or a
        # plain table) are deleted.
        if partitioned:
            for run_id in old:
                cursor.execute(f"DROP TABLE IF EXISTS {_partition_name(run_id)}")
        cursor.execute(
            f"DELETE FROM {InfluenceScore._meta.db_table} WHERE run_id IN ({', '.join(['%s'] * len(old))})", old
        )
        deleted = cursor.rowcount
    InfluenceRun.objects.filter(id__in=old).update(scores_pruned=True)
    return deleted

