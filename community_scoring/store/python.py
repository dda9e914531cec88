"""The interest store in plain Python over the ORM: the embedded SQLite default, and the executable reference the
PostgreSQL backend is tested against (tests/community_scoring/store/test_backend_parity.py).

Accounting (the same as a full recompute, see services.recompute and scoring.ledger):

- Every action lands in a bucket (member, action type, received, UTC day) of its actor, and, when it targets
  another member whose rule gives target points, in a ``received`` bucket of that member. Buckets are valued
  under their owner's rules (store.base.rules_for). Acting on yourself is logged but earns nothing. An action
  type without a rule earns 0 (its actor bucket still counts it).
- A bucket's points follow scoring.caps.bucket_points; a once-only rule credits only the owner's earliest bucket
  of that type (an earlier event arriving late moves the credit). A batch changes a bucket by
  ``delta = points(new) - points(old)``.
- Each delta decays from the start of its bucket's day and is folded into the stored (engagement, ref_time)
  pair with scoring.decay.accumulate; topics get ``delta`` split by the share of the bucket's actions on each
  topic (scoring.ledger.topic_shares), with the same decay. primary_topic is the topic with most interest.
- Fit is re-evaluated from the member's attributes, the stage from (engagement, fit).

Concurrency: the owners' score rows are locked (store.base.InterestStore.scores_lock) before their buckets and
topics are read. A pending row is claimed by deleting it: only the scorer whose delete took the row scores it.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction

from community_scoring.models import Action, ActionType, Content, InterestBucket, InterestPending, Member
from community_scoring.scoring.caps import bucket_points
from community_scoring.scoring.decay import accumulate, day_of, day_start, from_epoch_days, to_epoch_days
from community_scoring.scoring.ledger import primary_topic_of
from community_scoring.scoring.ruleset import INACTIVITY, MemberRules, ScoringConfig
from community_scoring.store.base import (
    Applied, Claimed, InterestStore, StageChange, StoredBatch, content_merge, counted_actions, event_metadata, event_persona, member_merge,
    rules_for, score_evaluate, stage_change_of,
)
from community_scoring.store.bulk import ids_q

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
class _Adds:
    """A batch's actions grouped into the buckets they add to, with each owner's latest action and activity."""

    buckets: dict[BucketKey, list] = field(default_factory=dict)  # key -> [count, topic Counter]
    latest: dict[int, datetime] = field(default_factory=dict)
    last_activity: dict[int, datetime] = field(default_factory=dict)

    def add(self, owner: int, action: Action, received: bool) -> None:
        entry = self.buckets.setdefault((owner, action.action_type_id, received, day_of(action.occurred_at)),
                                        [0, Counter()])
        entry[0] += 1
        if action.topic:
            entry[1][action.topic] += 1
        self.touch(owner, action.occurred_at)

    def touch(self, owner: int, at: datetime) -> None:
        if owner not in self.latest or at > self.latest[owner]:
            self.latest[owner] = at


def _adds_of(actions: Iterable[Action], rules_of: dict[int, MemberRules], partition: tuple[int, int]) -> _Adds:
    k, n = partition
    adds = _Adds()
    for action in actions:
        actor, target = action.member_id, action.target_member_id
        if actor % n == k:
            if action.action_type_id != INACTIVITY and (
                    actor not in adds.last_activity or action.occurred_at > adds.last_activity[actor]):
                adds.last_activity[actor] = action.occurred_at
            adds.touch(actor, action.occurred_at)
        if target == actor:
            continue  # acting on yourself earns nothing
        if actor % n == k:
            adds.add(actor, action, False)
        if (target is not None and target % n == k and target in rules_of
                and rules_of[target].rule(action.action_type_id).target_points):
            adds.add(target, action, True)
    return adds


def _buckets_load(keys: set[BucketKey], series: set[tuple[int, str, bool]]) -> dict[BucketKey, _Bucket]:
    """Stored buckets for exactly these keys, and every bucket of these (once-only) series."""
    found: dict[BucketKey, _Bucket] = {}
    fields = ("member_id", "action_type_id", "received", "day", "count", "raw_points", "points", "topic_counts")
    queries = []
    if keys:  # a superset by member, type and day, filtered here
        queries.append(InterestBucket.objects.filter(
            ids_q("member_id", {k[0] for k in keys}), action_type_id__in={k[1] for k in keys},
            day__in={k[3] for k in keys}))
    if series:
        queries.append(InterestBucket.objects.filter(
            ids_q("member_id", {s[0] for s in series}), action_type_id__in={s[1] for s in series}))
    for query in queries:
        for m, t, r, d, count, raw, points, topics in query.values_list(*fields):
            key = (m, t, bool(r), d)
            if key in keys or key[:3] in series:
                found[key] = _Bucket(count, raw, points, dict(topics or {}))
    return found


def _buckets_new(adds: _Adds, stored: dict[BucketKey, _Bucket], series: set[tuple[int, str, bool]],
                 rules_of: dict[int, MemberRules]) -> tuple[dict[int, list], list[tuple]]:
    """The buckets the batch changes: per owner its (day, points delta, topic deltas), and the rows to write."""
    new: dict[BucketKey, _Bucket] = {}
    for key, (n, topics) in adds.buckets.items():
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
    rows: list[tuple] = []
    for key, bucket in new.items():
        owner, action_type, received, day = key
        rule = rules_of[owner].rule(action_type)
        bucket.points = bucket_points(
            count=bucket.count, raw_points=bucket.raw_points, unit=rule.unit(received), daily_cap=rule.daily_cap,
            once_only=rule.once_only, is_first=first_day.get(key[:3]) == day,
        )
        old = stored.get(key, _Bucket())
        if key not in adds.buckets and bucket.points == old.points:
            continue
        old_topics, new_topics = old.topic_values(), bucket.topic_values()
        topic_delta = {t: new_topics.get(t, 0.0) - old_topics.get(t, 0.0) for t in {*old_topics, *new_topics}}
        deltas[owner].append((day_start(day), bucket.points - old.points, topic_delta))
        rows.append((owner, action_type, received, day, bucket.count, bucket.raw_points, bucket.points,
                     bucket.topic_counts))
    return deltas, rows


class _Batch:
    """A batch of valid events applied in order to its members and contents (read once, kept in memory), then
    written in a few statements: new members, changed members, new contents, changed contents, new actions.

    Each event sees its members and contents as the events before it left them: what the event gives replaces
    what is stored (attributes are merged), a target member defaults to the target content's author, and the
    action's topic is the target content's, else the created content's. A member new in the batch is never
    "changed"; an existing one whose persona (or else attributes) changed is reported for re-scoring."""

    def __init__(self, accepted: list[tuple[int, Any]], *, now: datetime) -> None:
        self.accepted, self.now = accepted, now
        member_keys, content_keys = set(), set()
        for _, event in accepted:
            source = event.source
            member_keys.add((source, event.member.external_id))
            if event.target_member is not None:
                member_keys.add((source, event.target_member.external_id))
            for content in (event.target_content, event.content):
                if content is not None:
                    content_keys.add((source, content.external_id))
                    if content.author_external_id:
                        member_keys.add((source, content.author_external_id))
        self.members = _by_key(Member.objects.all(), member_keys)
        self.contents = _by_key(Content.objects.select_related("author"), content_keys)
        self.existing_members = set(self.members)
        self.changed_members: set[tuple[str, str]] = set()
        self.keyed: set[tuple[str, str]] = set()
        self.changed_contents: set[tuple[str, str]] = set()
        self.known_events = {key for key in _keys(Action.objects.all(), {(e.source, e.event_id) for _, e in accepted},
                                                  field="external_event_id")}

    def member(self, source: str, external_id: str, given: Any = None, batch: StoredBatch | None = None) -> Member:
        key = (source, external_id)
        member = self.members.get(key)
        if member is None:
            member = self.members[key] = Member(source=source, external_id=external_id, joined_at=self.now)
        if given is None:
            return member
        changed = member_merge(member, email=given.email or None, email_verified=given.email_verified,
                               display_name=given.name, persona=event_persona(given), attributes=given.attributes,
                               crm_id=given.crm_id, joined_at=given.joined_at)
        if (given.crm_id or (given.email and given.email_verified)) and (
                key not in self.existing_members or changed & {"email", "email_verified", "crm_id"}):
            self.keyed.add(key)
        if changed and key in self.existing_members:
            member.updated_at = self.now  # auto_now: bulk_update does not set it
            self.changed_members.add(key)
            if member.merged_into_id is not None:
                pass  # a merged identity's persona and attributes are its own: the member's are the person's row
            elif "persona" in changed:
                batch.persona_changed.add(member.pk)
            elif "attributes" in changed:
                batch.attributes_changed.add(member.pk)
        return member

    def content(self, source: str, given: Any, *, author: Member | None) -> Content | None:
        if given is None:
            return None
        if author is None and given.author_external_id:
            author = self.member(source, given.author_external_id)
        key = (source, given.external_id)
        content = self.contents.get(key)
        if content is None:
            content = self.contents[key] = Content(source=source, external_id=given.external_id, created_at=self.now)
        changed = content_merge(content, author=author, topic=given.topic or None, kind=given.kind or None,
                                title=given.title or None)
        if changed and content.pk is not None:
            self.changed_contents.add(key)
        return content

    def write(self, store: InterestStore) -> StoredBatch:
        batch = StoredBatch()
        actions: list[tuple[int, Action]] = []
        for i, event in self.accepted:
            source = event.source
            member = self.member(source, event.member.external_id, event.member, batch)
            target_member = self.member(source, event.target_member.external_id) if event.target_member else None
            target_content = self.content(source, event.target_content, author=None)
            made = self.content(source, event.content, author=member)
            target_identity = None
            if target_member is not None:
                target_member, target_identity = _person(target_member)
            elif target_content is not None:
                target_member, target_identity = target_content.author, target_content.author_identity
            topic = (target_content.topic if target_content else "") or (made.topic if made else "") or ""
            if (source, event.event_id) not in self.known_events:
                person, identity = _person(member)
                actions.append((i, Action(
                    member=person, identity=identity, action_type_id=event.type, occurred_at=event.occurred_at,
                    target_member=target_member, target_identity=target_identity, target_content=target_content,
                    topic=topic,
                    text=event.text or "", metadata=event_metadata(event), source=source,
                    external_event_id=event.event_id, recorded_at=self.now)))
        Member.objects.bulk_create([m for m in self.members.values() if m.pk is None])
        Member.objects.bulk_update([self.members[k] for k in sorted(self.changed_members)],
                                   ["email", "email_verified", "display_name", "crm_id", "persona", "attributes",
                                    "joined_at", "updated_at"])
        batch.keyed = {self.members[k].pk for k in self.keyed}
        # Rows pointing at members (or contents) created just above get their ids as they are written.
        Content.objects.bulk_create([c for c in self.contents.values() if c.pk is None])
        Content.objects.bulk_update([self.contents[k] for k in sorted(self.changed_contents)],
                                    ["author", "author_identity", "topic", "kind", "title"])
        Action.objects.bulk_create([action for _, action in actions])
        for i, action in actions:
            batch.created[i] = action.pk
            batch.actors.add(action.member_id)
        store.batch_queue(batch)
        return batch


def _person(member: Member) -> tuple[Member, Member | None]:
    """The member an identity belongs to, and the identity where that is another member (merged)."""
    if member.merged_into_id is None:
        return member, None
    return Member(pk=member.merged_into_id), member


def _by_key(queryset, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The rows of these (source, external id) keys, by key (one query per source)."""
    found = {}
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, external_id in keys:
        by_source[source].append(external_id)
    for source, ids in by_source.items():
        for row in queryset.filter(source=source, external_id__in=ids):
            found[(row.source, row.external_id)] = row
    return found


def _keys(queryset, keys: set[tuple[str, str]], *, field: str) -> set[tuple[str, str]]:
    """The (source, value of ``field``) keys among these that are stored."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, value in keys:
        by_source[source].append(value)
    return {(source, value) for source, values in by_source.items()
            for value in queryset.filter(source=source, **{f"{field}__in": values}).values_list(field, flat=True)}


def _days(moment: datetime | None) -> float | None:
    return None if moment is None else to_epoch_days(moment)


class PythonInterestStore(InterestStore):
    name = "python"

    # --- partitions and the queue: one scorer; a row is claimed by the scorer whose delete takes it ---

    def scorer_partitions(self) -> int:
        return 1

    def partitions_idle(self, count: int) -> list[int]:
        return list(range(count))

    def partition_hold(self, partition: int, *, wait: bool) -> bool:
        return True  # one scorer partition; a row goes to the scorer whose delete takes it (pending_take)

    @contextmanager
    def job_hold(self, kind: int, job_id: int) -> Iterator[bool]:
        """No hold across processes: a development database runs one worker (or none: eager tasks)."""
        yield True

    def pending_take(self, partition: int, *, limit: int) -> list[Claimed]:
        rows = list(InterestPending.objects.filter(partition=partition, error="").order_by("pk")
                    .values_list("pk", "partitions", "action_ids", "refit", "rescore")[:limit])
        taken = []
        for pk, partitions, action_ids, refit, rescore in rows:
            if InterestPending.objects.filter(pk=pk).delete()[0]:
                taken.append(Claimed(pk, partitions, [int(a) for a in action_ids], [int(m) for m in refit],
                                     [int(m) for m in rescore]))
        return taken

    def pending_action_ids(self, partitions: dict[int, int]) -> list[int]:
        rows = InterestPending.objects.none()
        for count, partition in partitions.items():
            rows = rows | InterestPending.objects.filter(partitions=count, partition=partition)
        return sorted({int(a) for ids in rows.values_list("action_ids", flat=True) for a in ids})

    # --- events ---

    def action_types_known(self) -> frozenset[str]:
        return frozenset(ActionType.objects.values_list("key", flat=True))

    def events_write(self, accepted: list[tuple[int, Any]], *, now: datetime) -> StoredBatch:
        for attempt in range(3):
            try:
                with transaction.atomic():
                    return _Batch(accepted, now=now).write(self)
            except IntegrityError:  # a concurrent writer stored a key meanwhile: read again and retry
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # --- scoring ---

    def interest_apply(self, action_ids: Sequence[int], *, config: ScoringConfig, refit: Iterable[int] = (),
                       partition: tuple[int, int] = (0, 1)) -> Applied:
        actions = list(counted_actions().filter(ids_q("pk", action_ids)).order_by("pk"))
        if not actions:
            return Applied()
        involved = {a.member_id for a in actions} | {a.target_member_id for a in actions if a.target_member_id}
        members = self.members_facts(involved)
        rules_of = {m: rules_for(config, facts) for m, facts in members.items()}
        adds = _adds_of(actions, rules_of, partition)
        owners = set(adds.latest)
        if not owners:
            return Applied()
        with transaction.atomic():
            scores = self.scores_lock(owners, floor_stage=config.floor_stage)
            series = {k[:3] for k in adds.buckets if rules_of[k[0]].rule(k[1]).once_only}
            stored = _buckets_load(set(adds.buckets), series)
            deltas, bucket_rows = _buckets_new(adds, stored, series, rules_of)
            self.buckets_write(bucket_rows)
            topic_owners = [m for m, ds in deltas.items() if any(td for _, _, td in ds)]
            topics = self.topics_load(topic_owners)
            topic_rows: list[tuple] = []
            changes: list[StageChange] = []
            for owner in sorted(owners):
                score, facts, half_life = scores[owner], members[owner], rules_of[owner].half_life_days
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
                topic_rows.extend((owner, t, member_topics[t][0], from_epoch_days(member_topics[t][1]))
                                  for t in changed_topics)
                if ref is not None:
                    score.engagement, score.ref_time = engagement, from_epoch_days(ref)
                if owner in topics or changed_topics:
                    score.primary_topic = primary_topic_of(member_topics, half_life)
                active = adds.last_activity.get(owner)
                if active is not None and (score.last_activity_at is None or active > score.last_activity_at):
                    score.last_activity_at = active
                old_stage = score.stage or config.floor_stage
                score_evaluate(score, facts, config)
                if score.stage != old_stage:
                    changes.append(stage_change_of(score, facts, old_stage=old_stage, at=adds.latest[owner],
                                                   reason="action"))
            self.topics_write(topic_rows)
            self.scores_save([scores[m] for m in sorted(owners)])
            self.transitions_save(changes)
        return Applied(changes, frozenset(owners))
