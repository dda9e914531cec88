"""Full recompute of interest from the action log: buckets, topics, scores and stages, in chunks of members.

For each chunk (one transaction, score rows locked like scoring does: store.base.InterestStore.scores_lock) the log is aggregated in SQL
into bucket tallies (actions per member, type, side, UTC day and topic), then scoring.ledger values them under
the current configuration, at ``now`` (or at the latest bucket day when that is later). The result equals what
incremental updates give, to float rounding, whatever order the actions arrived in. Safe to run twice.
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.db import transaction
from django.db.models import Count, F, Max
from django.db.models.functions import TruncDate
from django.utils import timezone

from community_scoring.jobs import job_claimed, job_publish, jobs_pending_publish
from community_scoring.models import Member, RecomputeJob
from community_scoring.scoring.decay import day_start, from_epoch_days, to_epoch_days
from community_scoring.scoring.ledger import BucketTally, bucket_values, engagement_at, primary_topic, topics_at
from community_scoring.scoring.ruleset import INACTIVITY, ScoringConfig
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.interest import stage_changes_announce
from community_scoring.store import interest_store
from community_scoring.store.base import counted_actions, config_for, rules_for, score_evaluate, stage_change_of
from community_scoring.tasks import interest_recompute_task


@dataclass
class RecomputeResult:
    members: int = 0
    actions: int = 0
    stage_changes: int = 0
    seconds: float = 0.0


def interest_tallies_load(*, member_ids: Sequence[int], with_topics: bool = True,
                          until: datetime | None = None) -> dict[int, list[BucketTally]]:
    """Bucket tallies from the log for these members: their own actions, and actions others did to them (those
    that occurred at or before ``until`` when given).

    Self-targeted actions are left out (they earn nothing), and so are actions still waiting for their scorer
    (services.interest_queue), which adds them on top of what this returns. Received tallies are returned for
    every type; the caller keeps those its rules give target points for.
    """
    day = TruncDate("occurred_at", tzinfo=dt_timezone.utc)
    group = ["action_type_id", "day", *(["topic"] if with_topics else [])]
    tallies: dict[int, dict[tuple, BucketTally]] = defaultdict(dict)
    sides = []
    # Each member's scorer adds the actions pending for the member's partition on top: group the members by
    # their partition under every partition count rows are pending with (normally one).
    store = interest_store()
    counts = store.pending_partition_counts()
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for m in member_ids:
        groups[tuple(m % n for n in counts)].append(m)
    for key, members in groups.items():
        scored = counted_actions().exclude(pk__in=store.pending_action_ids(dict(zip(counts, key))))
        if until is not None:
            scored = scored.filter(occurred_at__lte=until)
        sides += [
            (False, "member_id", scored.filter(member_id__in=members).exclude(target_member_id=F("member_id"))),
            (True, "target_member_id",
             scored.filter(target_member_id__in=members).exclude(member_id=F("target_member_id"))),
        ]
    for received, owner_field, queryset in sides:
        rows = queryset.annotate(day=day).values(owner_field, *group).annotate(n=Count("id")).order_by()
        for row in rows:
            owner = row[owner_field]
            key = (row["action_type_id"], received, row["day"])
            tally = tallies[owner].get(key)
            if tally is None:
                tally = tallies[owner][key] = BucketTally(row["action_type_id"], received, day_start(row["day"]))
            tally.count += row["n"]
            topic = row.get("topic")
            if topic:
                tally.topic_counts[topic] = tally.topic_counts.get(topic, 0) + row["n"]
    return {owner: list(by_key.values()) for owner, by_key in tallies.items()}


@dataclass(frozen=True)
class InterestAt:
    """A member's interest valued at one moment from the log: engagement, fit (today's attributes) and stage."""

    engagement: float
    fit: float
    stage: str

    @property
    def score(self) -> float:
        return self.engagement + self.fit


def interest_values_at(*, member_ids: Sequence[int], at: datetime, config: ScoringConfig | None = None,
                       chunk_size: int = 1000,
                       tallies: Mapping[int, list[BucketTally]] | None = None) -> dict[int, InterestAt]:
    """Every member's interest as it stood at ``at``, from the actions that occurred up to then, under ``config``
    (default: the current one); what the quality report, calibration and replays value members with. Fit uses
    the member's attributes as they are now (attributes keep no history). ``tallies``: the members' tallies up to
    ``at`` when the caller has loaded them already (interest_tallies_load(..., until=at)), to value them under
    several configurations without reading the log again."""
    config = config or scoring_config_current()
    when = to_epoch_days(at)
    store = interest_store()
    result: dict[int, InterestAt] = {}
    ids = list(member_ids)
    for start in range(0, len(ids), max(1, chunk_size)):
        chunk = ids[start:start + chunk_size]
        members = store.members_facts(chunk)
        chunk_tallies = tallies if tallies is not None else interest_tallies_load(
            member_ids=chunk, with_topics=False, until=at)
        for member_id in chunk:
            facts = members.get(member_id)
            if facts is None:
                continue
            rules = rules_for(config, facts)
            kept = [t for t in chunk_tallies.get(member_id, []) if not t.received or rules.rule(t.action_type).target_points]
            engagement = engagement_at(bucket_values(kept, rules), when, rules.half_life_days)
            fit = rules.fit(facts.attributes, facts.persona)
            result[member_id] = InterestAt(engagement, fit, config_for(config, facts).stage_for(engagement, fit))
    return result


def _recompute_chunk(ids: Sequence[int], *, config: ScoringConfig, now: float, reason: str) -> tuple[int, int]:
    """Rebuild one chunk of members; returns (actions they did, stage changes)."""
    store = interest_store()
    scores = store.scores_lock(ids, floor_stage=config.floor_stage)
    members = store.members_facts(ids)
    tallies = interest_tallies_load(member_ids=ids)
    activity = dict(
        counted_actions().filter(member_id__in=ids).exclude(action_type_id=INACTIVITY)
        .values("member_id").annotate(last=Max("occurred_at")).order_by().values_list("member_id", "last")
    )
    actions = counted_actions().filter(member_id__in=ids).count()
    store.buckets_delete(ids)
    buckets: list[tuple] = []
    topics: list[tuple] = []
    changes = []
    moment = from_epoch_days(now)
    for member_id in ids:
        facts, score = members.get(member_id), scores.get(member_id)
        if facts is None or score is None:
            continue  # deleted meanwhile
        rules = rules_for(config, facts)
        kept = [t for t in tallies.get(member_id, []) if not t.received or rules.rule(t.action_type).target_points]
        values = bucket_values(kept, rules)
        as_of = max([now, *(v.tally.day for v in values)])
        score.engagement = engagement_at(values, as_of, rules.half_life_days)
        score.ref_time = from_epoch_days(as_of) if values else None
        topic_values = topics_at(values, as_of, rules.half_life_days)
        score.primary_topic = primary_topic(topic_values)
        score.last_activity_at = activity.get(member_id)
        old_stage = score.stage or config.floor_stage
        score_evaluate(score, facts, config)
        if score.stage != old_stage:
            changes.append(stage_change_of(score, facts, old_stage=old_stage, at=moment, reason=reason))
        buckets.extend(
            (member_id, v.tally.action_type, v.tally.received, from_epoch_days(v.tally.day).date(), v.tally.count,
             v.raw_points, v.points, v.tally.topic_counts)
            for v in values
        )
        topics.extend((member_id, topic, value, from_epoch_days(as_of)) for topic, value in topic_values.items())
    store.buckets_write(buckets)
    store.topics_write(topics)
    store.scores_save([scores[m] for m in sorted(scores)])
    store.transitions_save(changes)
    stage_changes_announce(changes)
    return actions, len(changes)


def interest_recompute(
    *,
    job_id: int | None = None,
    member_ids: Iterable[int] | None = None,
    chunk_size: int = 500,
    reason: str = "recompute",
    now: datetime | None = None,
    worker: str = "",
) -> RecomputeResult | None:
    """Recompute interest from the log for the given members (default: all), chunk by chunk.

    With ``job_id`` the RecomputeJob is claimed first (jobs.job_claimed: None, and nothing done, when another task
    runs it or it has ended), then its status, total and done are kept up to date (committed per chunk, so the
    admin shows progress); a failure marks the job failed and re-raises. ``worker``: the Celery node running it
    (recompute_jobs_resume).
    """
    started = time.monotonic()
    now_days = to_epoch_days(now or timezone.now())
    config = scoring_config_current()
    members = Member.objects.filter(merged_into__isnull=True).order_by("pk")  # identities merged in: their member's
    if member_ids is not None:
        members = members.filter(pk__in=list(member_ids))  # unknown ids are skipped
    ids = list(members.values_list("pk", flat=True))
    if job_id is None:
        return _recompute_run(ids, jobs=RecomputeJob.objects.none(), config=config, now_days=now_days,
                              chunk_size=chunk_size, reason=reason, started=started)
    with job_claimed(RecomputeJob, job_id, started_at=timezone.now(), total=len(ids), done=0, error="",
                     finished_at=None, worker=worker) as claimed:
        if not claimed:
            return None
        return _recompute_run(ids, jobs=RecomputeJob.objects.filter(pk=job_id), config=config, now_days=now_days,
                              chunk_size=chunk_size, reason=reason, started=started)


def _recompute_run(ids: list[int], *, jobs, config: ScoringConfig, now_days: float, chunk_size: int, reason: str,
                   started: float) -> RecomputeResult:
    """interest_recompute's chunks, keeping ``jobs`` (the claimed job, or none) up to date."""
    result = RecomputeResult(members=len(ids))
    try:
        for start in range(0, len(ids), max(1, chunk_size)):
            chunk = ids[start:start + chunk_size]
            with transaction.atomic():
                actions, changes = _recompute_chunk(chunk, config=config, now=now_days, reason=reason)
                result.actions += actions
                result.stage_changes += changes
                jobs.update(done=start + len(chunk))
    except Exception as exc:
        jobs.update(status=RecomputeJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
                    finished_at=timezone.now())
        raise
    jobs.update(status=RecomputeJob.Status.DONE, done=len(ids), finished_at=timezone.now())
    result.seconds = time.monotonic() - started
    return result


def interest_members_refresh(*, member_ids: Iterable[int], now: datetime | None = None) -> RecomputeResult:
    """Re-score members whose persona or attributes changed (only those already scored), synchronously."""
    scored = interest_store().scored_member_ids(member_ids)
    return interest_recompute(member_ids=scored, now=now) if scored else RecomputeResult()


def recompute_job_start(*, config_version: int = 0) -> RecomputeJob:
    """Create a pending interest RecomputeJob and publish its task on commit (the admin's "recompute now"); when
    the broker refuses it, the job waits for recompute_jobs_publish_pending."""
    job = RecomputeJob.objects.create(kind=RecomputeJob.Kind.INTEREST, config_version=config_version)
    job_publish(interest_recompute_task, job.pk)
    return job


def recompute_jobs_publish_pending() -> list[int]:
    """Publish again the tasks of interest recomputes left pending (jobs.jobs_pending_publish); their ids."""
    return jobs_pending_publish(jobs=RecomputeJob.objects.filter(kind=RecomputeJob.Kind.INTEREST),
                                task=interest_recompute_task)


def recompute_jobs_resume(*, worker: str) -> list[RecomputeJob]:
    """When a Celery node starts: the recomputes it was running died with its previous process (SIGKILL, a lost
    host). Each is queued again (pending; a recompute rebuilds from the log, so running it again from the start
    is exact). A node cannot be running anything before it is ready, so a running job under its name is an
    interrupted one."""
    with transaction.atomic():
        jobs = list(RecomputeJob.objects.select_for_update().filter(status=RecomputeJob.Status.RUNNING, worker=worker))
        for job in jobs:
            job.status, job.error = RecomputeJob.Status.PENDING, f"interrupted: worker {worker} stopped; queued again"
            job.save(update_fields=["status", "error"])
            job_publish(interest_recompute_task, job.pk)
    return jobs
