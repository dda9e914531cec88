"""Interest scores updated incrementally as actions are recorded (bulk, O(1) per action, any arrival order).

Accounting (the same as a full recompute, see services.recompute and scoring.ledger):

- Every action lands in a bucket (member, action type, received, UTC day) of its actor, and, when it targets
  another member whose rule gives target points, in a ``received`` bucket of that member. Buckets are valued
  under their owner's rule set (persona set, falling back to the default set per action type). Acting on
  yourself is logged but earns nothing. An action type without a rule earns 0 (its actor bucket still counts it).
- A bucket's points are its count times the rule's points, clamped to the daily cap; a once-only rule credits
  only the owner's earliest bucket of that type (an earlier event arriving late moves the credit). See
  scoring.caps. A batch changes a bucket by ``delta = points(new) - points(old)``.
- Each delta decays from the start of its bucket's day and is folded into the stored (engagement, ref_time)
  pair with scoring.decay.accumulate; topics get ``delta`` split by the share of the bucket's actions on each
  topic, with the same decay. primary_topic is the topic with most interest.
- Fit is re-evaluated from the member's attributes, the stage from (engagement, fit); every stage change writes
  a StageTransition and enqueues a ``stage_changed`` webhook.

Concurrency: the owners' InterestScore rows are locked (missing rows inserted first, then SELECT ... FOR
UPDATE of all, both in member-id order; see scores_lock) before their buckets and topics are read, so concurrent batches serialise per member
without lost updates or lock-order deadlocks. Call inside the transaction that created the actions.

Cost per batch, whatever its size: ~10 statements (config fingerprint; members; score rows: an insert of the missing
ones, then the lock; buckets by exact key via unnest on PostgreSQL, plus every bucket of a once-only
series touched; one bucket upsert; the owners' topics; one topic upsert; one score upsert; transitions), plus
one bulk webhook enqueue when stages change. Rows are plain tuples, written with community_scoring.bulk.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from community_scoring.bulk import ids_q, pg_array, rows_upsert
from community_scoring.models import Action, InterestBucket, InterestScore, InterestTopic, Member, StageTransition
from community_scoring.scoring.caps import bucket_points
from community_scoring.scoring.decay import accumulate, day_of, day_start, from_epoch_days, to_epoch_days, value_at
from community_scoring.scoring.ledger import primary_topic
from community_scoring.scoring.ruleset import MemberRules, ScoringConfig
from community_scoring.services.config import scoring_config_current
from community_scoring.webhooks.services import webhook_events_enqueue

INACTIVITY = "inactivity"  # the system action type the inactivity task logs; not counted as activity

BucketKey = tuple[int, str, bool, date]  # (member id, action type, received, day)


@dataclass
class _Bucket:
    count: int = 0
    raw_points: float = 0.0
    points: float = 0.0
    topic_counts: dict[str, int] = field(default_factory=dict)

    def topic_values(self) -> dict[str, float]:
        if self.count <= 0 or not self.points:
            return {}
        return {t: self.points * n / self.count for t, n in self.topic_counts.items() if t and n}


@dataclass
class MemberFacts:
    """What scoring needs to know about a member."""

    pk: int
    persona: str
    attributes: dict[str, Any]
    email: str
    external_id: str


def members_facts(member_ids: Iterable[int]) -> dict[int, MemberFacts]:
    rows = Member.objects.filter(ids_q("pk", member_ids)).values_list("pk", "persona", "attributes", "email", "external_id")
    return {r[0]: MemberFacts(r[0], r[1] or "", r[2] or {}, r[3] or "", r[4]) for r in rows}


@dataclass
class ScoreRow:
    """An InterestScore row as plain data (the hot path avoids building model instances)."""

    member_id: int
    engagement: float = 0.0
    ref_time: datetime | None = None
    fit: float = 0.0
    score: float = 0.0
    stage: str = ""
    primary_topic: str = ""
    last_activity_at: datetime | None = None
    config_version: int = 0


SCORE_FIELDS = ["engagement", "ref_time", "fit", "score", "stage", "primary_topic", "last_activity_at",
                "config_version"]


def scores_lock(member_ids: Iterable[int], *, floor_stage: str) -> dict[int, ScoreRow]:
    """Lock (creating when missing) the InterestScore rows of these members, in member-id order.

    Every missing row is inserted first (ON CONFLICT DO NOTHING, in member-id order), and only then are all
    rows locked, in member-id order. Locking the existing rows before inserting the missing ones could
    deadlock: batch A locks 1 and 3 and waits on B's uncommitted insert of 2 while B waits on A's lock of 1.
    Here an insert only waits on another batch's uncommitted insert of a lower-or-equal id, before either
    holds a row lock taken by this function, so the waits always go one way.
    """
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {InterestScore._meta.db_table} (member_id, engagement, fit, score, stage, primary_topic, "
                "config_version, updated_at) SELECT m, 0, 0, 0, %s, '', 0, %s FROM unnest(%s::bigint[]) AS m "
                "ORDER BY m ON CONFLICT (member_id) DO NOTHING",
                [floor_stage, now, pg_array(ids)],
            )
    else:
        rows_upsert(
            InterestScore, columns=["member", "engagement", "fit", "score", "stage", "primary_topic", "config_version",
                                    "updated_at"],
            rows=[(m, 0.0, 0.0, 0.0, floor_stage, "", 0, now) for m in ids], conflict=["member"],
        )
    locked = InterestScore.objects.select_for_update().order_by("member_id").values_list("member_id", *SCORE_FIELDS)
    return {r[0]: ScoreRow(*r) for r in locked.filter(ids_q("member_id", ids))}


def scores_save(scores: Iterable[ScoreRow]) -> None:
    """Write scores in one statement (the rows exist and are locked by the caller)."""
    now = timezone.now()
    rows_upsert(
        InterestScore, columns=["member", *SCORE_FIELDS, "updated_at"],
        rows=[(s.member_id, *(getattr(s, f) for f in SCORE_FIELDS), now) for s in scores],
        conflict=["member"], update=[*SCORE_FIELDS, "updated_at"],
    )


BUCKET_COLUMNS = ["member", "action_type", "received", "day", "count", "raw_points", "points", "topic_counts"]


def buckets_write(rows: Sequence[tuple]) -> None:
    """Upsert bucket rows given as tuples in BUCKET_COLUMNS order."""
    rows_upsert(InterestBucket, columns=BUCKET_COLUMNS, rows=rows, conflict=["member", "action_type", "received", "day"],
                update=["count", "raw_points", "points", "topic_counts"])


def topics_write(rows: Sequence[tuple]) -> None:
    """Upsert (member id, topic, points, ref_time) rows."""
    rows_upsert(InterestTopic, columns=["member", "topic", "points", "ref_time"], rows=rows,
                conflict=["member", "topic"], update=["points", "ref_time"])


def stage_change_record(
    *, score: ScoreRow, member: MemberFacts, old_stage: str, at: datetime, reason: str
) -> StageTransition:
    """The (unsaved) StageTransition of a score whose stage changed; stage_changes_save stores and announces it."""
    return StageTransition(
        member_id=member.pk, from_stage=old_stage, to_stage=score.stage, occurred_at=at,
        engagement=score.engagement, fit=score.fit, reason=reason,
    )


def stage_changes_save(transitions: Sequence[StageTransition], members: dict[int, MemberFacts]) -> None:
    """Store transitions and queue one ``stage_changed`` webhook per transition (one bulk enqueue, sent on commit)."""
    if not transitions:
        return
    StageTransition.objects.bulk_create(transitions)
    stage_changes_announce([
        (t.member_id, members[t.member_id].external_id, members[t.member_id].email, t.from_stage, t.to_stage,
         t.engagement, t.fit, t.reason, t.occurred_at)
        for t in transitions
    ])


def stage_changes_announce(changes: Sequence[tuple]) -> None:
    """Queue one ``stage_changed`` webhook per stored stage change, given as (member id, external id, email,
    from, to, engagement, fit, reason, at) tuples."""
    if not changes:
        return
    webhook_events_enqueue(event="stage_changed", payloads=[
        {
            "member_id": member_id,
            "external_id": external_id,
            "email": email,
            "from": old,
            "to": new,
            "engagement": engagement,
            "fit": fit,
            "score": engagement + fit,
            "reason": reason,
            "at": at.isoformat(),
        }
        for member_id, external_id, email, old, new, engagement, fit, reason, at in changes
    ])


def _buckets_load(keys: set[BucketKey], series: set[tuple[int, str, bool]]) -> dict[BucketKey, _Bucket]:
    """Stored buckets for exactly these keys, and every bucket of these (once-only) series."""
    found: dict[BucketKey, _Bucket] = {}
    fields = ("member_id", "action_type_id", "received", "day", "count", "raw_points", "points", "topic_counts")

    def take(rows) -> None:
        for m, t, r, d, count, raw, points, topics in rows:
            if isinstance(topics, str):
                topics = json.loads(topics)
            found[(m, t, bool(r), d)] = _Bucket(count, raw, points, dict(topics or {}))

    if keys and connection.vendor == "postgresql":
        table = InterestBucket._meta.db_table
        ordered = list(keys)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT b.{', b.'.join(fields)} FROM {table} b JOIN unnest(%s::bigint[], %s::varchar[], "
                "%s::boolean[], %s::date[]) AS k(m, t, r, d) "
                "ON b.member_id = k.m AND b.action_type_id = k.t AND b.received = k.r AND b.day = k.d",
                [pg_array([k[i] for k in ordered]) for i in range(4)],
            )
            take(cursor.fetchall())
    elif keys:  # elsewhere: a superset by member, type and day, filtered here
        take(InterestBucket.objects.filter(
            member_id__in={k[0] for k in keys}, action_type_id__in={k[1] for k in keys}, day__in={k[3] for k in keys}
        ).values_list(*fields))
        found = {k: v for k, v in found.items() if k in keys}
    if series:
        take(InterestBucket.objects.filter(
            ids_q("member_id", {s[0] for s in series}), action_type_id__in={s[1] for s in series}
        ).values_list(*fields))
        found = {k: v for k, v in found.items() if k in keys or k[:3] in series}
    return found


def interest_apply(*, actions: Sequence[Action]) -> None:
    """Update interest for newly created actions, in bulk: a fixed number of queries whatever the batch size.

    Each action must be saved and counted once (callers pass only actions they just created). See the module
    docstring for the accounting. On PostgreSQL the arithmetic runs inside the database
    (services.interest_pg, three statements per batch); elsewhere in Python (interest_apply_python).
    """
    actions = [a for a in actions if a.pk is not None]
    if not actions:
        return
    if connection.vendor == "postgresql":
        from community_scoring.services.interest_pg import interest_apply_ids

        interest_apply_ids([a.pk for a in actions])
        return
    interest_apply_python(actions=actions)


def interest_apply_python(*, actions: Sequence[Action]) -> None:
    """interest_apply computed in Python: the reference implementation, and the path on SQLite."""
    actions = [a for a in actions if a.pk is not None]
    if not actions:
        return
    config = scoring_config_current()
    involved = {a.member_id for a in actions} | {a.target_member_id for a in actions if a.target_member_id}
    members = members_facts(involved)
    rules_of: dict[int, MemberRules] = {m: config.for_persona(f.persona) for m, f in members.items()}

    adds: dict[BucketKey, list] = {}
    last_activity: dict[int, datetime] = {}
    latest: dict[int, datetime] = {}

    def add(owner: int, action: Action, received: bool) -> None:
        entry = adds.setdefault((owner, action.action_type_id, received, day_of(action.occurred_at)), [0, Counter()])
        entry[0] += 1
        if action.topic:
            entry[1][action.topic] += 1
        if owner not in latest or action.occurred_at > latest[owner]:
            latest[owner] = action.occurred_at

    for action in actions:
        actor, target = action.member_id, action.target_member_id
        if action.action_type_id != INACTIVITY and (actor not in last_activity or action.occurred_at > last_activity[actor]):
            last_activity[actor] = action.occurred_at
        if actor not in latest or action.occurred_at > latest[actor]:
            latest[actor] = action.occurred_at
        if target == actor:
            continue  # acting on yourself earns nothing
        add(actor, action, False)
        if target is not None and target in rules_of and rules_of[target].rule(action.action_type_id).target_points:
            add(target, action, True)

    owners = set(latest)
    with transaction.atomic():
        scores = scores_lock(owners, floor_stage=config.floor_stage)
        series = {k[:3] for k in adds if rules_of[k[0]].rule(k[1]).once_only}
        stored = _buckets_load(set(adds), series)

        # New bucket states and the deltas they cause.
        new: dict[BucketKey, _Bucket] = {}
        for key, (n, topics) in adds.items():
            old = stored.get(key, _Bucket())
            unit = rules_of[key[0]].rule(key[1]).unit(key[2])
            merged = Counter(old.topic_counts)
            merged.update(topics)
            new[key] = _Bucket(old.count + n, old.raw_points + n * unit, old.points, dict(merged))
        first_day: dict[tuple[int, str, bool], date] = {}
        for key, bucket in (*stored.items(), *new.items()):
            if key[:3] in series and bucket.count > 0:
                first_day[key[:3]] = min(first_day.get(key[:3], key[3]), key[3])
        for key in [k for k in stored if k[:3] in series and k not in new]:
            new[key] = _Bucket(**vars(stored[key]))

        deltas: dict[int, list[tuple[float, float, dict[str, float]]]] = defaultdict(list)
        to_write: list[tuple] = []
        for key, bucket in new.items():
            owner, action_type, received, day = key
            rule = rules_of[owner].rule(action_type)
            bucket.points = bucket_points(
                count=bucket.count, raw_points=bucket.raw_points, unit=rule.unit(received), daily_cap=rule.daily_cap,
                once_only=rule.once_only, is_first=first_day.get(key[:3]) == day,
            )
            old = stored.get(key, _Bucket())
            if key not in adds and bucket.points == old.points:
                continue
            old_topics, new_topics = old.topic_values(), bucket.topic_values()
            topic_delta = {t: new_topics.get(t, 0.0) - old_topics.get(t, 0.0) for t in {*old_topics, *new_topics}}
            deltas[owner].append((day_start(day), bucket.points - old.points, topic_delta))
            to_write.append((owner, action_type, received, day, bucket.count, bucket.raw_points, bucket.points,
                             bucket.topic_counts))
        buckets_write(to_write)

        topic_owners = [m for m, ds in deltas.items() if any(td for _, _, td in ds)]
        topics = topics_load(topic_owners)
        topic_rows: list[tuple] = []
        transitions: list[StageTransition] = []
        for owner in sorted(owners):
            score, facts, rules = scores[owner], members[owner], rules_of[owner]
            half_life = rules.half_life_days
            engagement, ref = score.engagement, _days(score.ref_time)
            member_topics = topics.get(owner, {})
            changed_topics: set[str] = set()
            for when, delta, topic_delta in sorted(deltas.get(owner, []), key=lambda d: d[0]):
                engagement, ref = accumulate(engagement, ref, delta, when, half_life)
                for topic, d in topic_delta.items():
                    if d:
                        value, topic_ref = member_topics.get(topic, (0.0, None))
                        member_topics[topic] = accumulate(value, topic_ref, d, when, half_life)
                        changed_topics.add(topic)
            for topic in changed_topics:
                value, topic_ref = member_topics[topic]
                topic_rows.append((owner, topic, value, from_epoch_days(topic_ref)))
            if ref is not None:
                score.engagement, score.ref_time = engagement, from_epoch_days(ref)
            if owner in topics or changed_topics:
                score.primary_topic = primary_topic_of(member_topics, half_life)
            if owner in last_activity and (score.last_activity_at is None or last_activity[owner] > score.last_activity_at):
                score.last_activity_at = last_activity[owner]
            old_stage = score.stage or config.floor_stage
            score_evaluate(score, facts, rules, config)
            if score.stage != old_stage:
                transitions.append(stage_change_record(
                    score=score, member=facts, old_stage=old_stage, at=latest[owner], reason="action"))
        topics_write(topic_rows)
        scores_save([scores[m] for m in sorted(owners)])
        stage_changes_save(transitions, members)


def _days(moment: datetime | None) -> float | None:
    return None if moment is None else to_epoch_days(moment)


def topics_load(member_ids: Iterable[int]) -> dict[int, dict[str, tuple[float, float]]]:
    """member id -> topic -> (points, ref epoch days) for every stored topic of these members."""
    out: dict[int, dict[str, tuple[float, float]]] = defaultdict(dict)
    ids = list(member_ids)
    if ids:
        for m, topic, points, ref in InterestTopic.objects.filter(ids_q("member_id", ids)).values_list(
            "member_id", "topic", "points", "ref_time"
        ):
            out[m][topic] = (points, to_epoch_days(ref))
    return out


def primary_topic_of(member_topics: dict[str, tuple[float, float | None]], half_life: float | None) -> str:
    """The top topic, comparing every topic's value at the latest of their anchors."""
    refs = [ref for _, ref in member_topics.values() if ref is not None]
    if not refs:
        return ""
    when = max(refs)
    return primary_topic({t: value_at(v, ref, when, half_life) for t, (v, ref) in member_topics.items()})


def score_evaluate(score: ScoreRow, member: MemberFacts, rules: MemberRules, config: ScoringConfig) -> None:
    """Refresh fit, total and stage of a score whose engagement is up to date (in memory)."""
    score.fit = rules.fit(member.attributes, member.persona)
    score.score = score.engagement + score.fit
    score.stage = config.stage_for(score.engagement, score.fit)
    score.config_version = config.version


def interest_fit_refresh(*, member_ids: Iterable[int]) -> int:
    """Re-evaluate fit, total and stage of already-scored members whose attributes changed; returns stage changes.

    Engagement is left as stored (attributes do not change what actions earned). A persona change also changes
    the rule set, so it needs services.recompute.interest_members_refresh instead.
    """
    ids = list(InterestScore.objects.filter(member_id__in=list(member_ids)).values_list("member_id", flat=True))
    if not ids:
        return 0
    config = scoring_config_current()
    with transaction.atomic():
        scores = scores_lock(ids, floor_stage=config.floor_stage)
        members = members_facts(ids)
        now = timezone.now()
        transitions = []
        for member_id, score in scores.items():
            old_stage = score.stage or config.floor_stage
            score_evaluate(score, members[member_id], config.for_persona(members[member_id].persona), config)
            if score.stage != old_stage:
                transitions.append(stage_change_record(score=score, member=members[member_id], old_stage=old_stage,
                                                       at=now, reason="fit"))
        scores_save([scores[m] for m in sorted(scores)])
        stage_changes_save(transitions, members)
    return len(transitions)
