"""The interest store's interface: what the engine's services read and write, whatever the database.

Two backends implement it (community_scoring.store picks one): ``postgres`` (set-based SQL, the arithmetic inside
the database) and ``python`` (the ORM and the pure rules in Python: SQLite, and the executable reference the
PostgreSQL backend is tested against). The rules themselves live in community_scoring.scoring; a backend only
applies them.

Ready for what comes next without changing the interface's shape:
- the configuration that applies is passed in (``config``), and each backend resolves a member's rules in one
  place (``rules_for``, over ``config_for``: a running live experiment scores some new members by variant B's
  configuration; the PostgreSQL backend computes the same split in SQL);
- the actions that count are chosen in one place per backend (``counted_actions`` and the PostgreSQL ``act``
  CTEs): every action but the excluded ones (models.ActionExclusion: vote rings flagged by
  community_scoring.gaming);
- a member's score is always rebuildable from the log (``interest_recompute``): re-owning actions (merging two
  members) re-scores both members from it.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from community_scoring.models import (
    Action, ActionExclusion, ConfigVersion, Content, Experiment, FitRule, InterestBucket, InterestPending, InterestScore,
    InterestTopic, Member, Rule, RuleSet, Stage, StageTransition,
)
from community_scoring.scoring.decay import to_epoch_days, value_at
from community_scoring.scoring.ruleset import MemberRules, ScoringConfig
from community_scoring.store.bulk import ids_q, rows_upsert, sized_execute


@dataclass
class MemberFacts:
    """What scoring needs to know about a member."""

    pk: int
    persona: str
    attributes: dict[str, Any]
    email: str
    external_id: str


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
    rank_key: float = 0.0


SCORE_FIELDS = ["engagement", "ref_time", "fit", "score", "stage", "primary_topic", "last_activity_at",
                "config_version", "rank_key"]
BUCKET_COLUMNS = ["member", "action_type", "received", "day", "count", "raw_points", "points", "topic_counts"]


@dataclass(frozen=True)
class StageChange:
    """A stored stage transition, with what its ``stage_changed`` webhook says of the member."""

    member_id: int
    external_id: str
    email: str
    from_stage: str
    to_stage: str
    engagement: float
    fit: float
    reason: str
    at: datetime


@dataclass(frozen=True)
class Applied:
    """What a scoring pass did: the stage changes it stored, and the owners it scored (members of the partition
    whose score the actions moved), whose fit it re-evaluated when their attributes had changed (``refit``)."""

    changes: list[StageChange] = field(default_factory=list)
    owners: frozenset[int] = frozenset()


@dataclass
class StoredBatch:
    """What events_write stored: per accepted event index, the id of the action it created (absent: a duplicate);
    the members acting in new actions; existing members whose persona, or only whose attributes, the batch changed;
    the pending rows that queue the new actions for scoring (committed with them); the identities whose
    crm_id or verified email is new, which may belong to another member (services.identity)."""

    created: dict[int, int] = field(default_factory=dict)
    pending: list[int] = field(default_factory=list)
    actors: set[int] = field(default_factory=set)
    persona_changed: set[int] = field(default_factory=set)
    attributes_changed: set[int] = field(default_factory=set)
    keyed: set[int] = field(default_factory=set)  # identities given a crm_id or verified email: to link


@dataclass(frozen=True)
class Claimed:
    """A pending row taken by a scorer: the batch's action ids, its members to refit (attributes changed) and to
    re-score (persona changed), queued under ``partitions``."""

    id: int
    partitions: int
    action_ids: list[int]
    refit: list[int]
    rescore: list[int]


@lru_cache(maxsize=None)
def _fingerprint_sql(vendor: str) -> str:
    """InterestStore.config_fingerprint's statement (built once per database kind)."""
    quote = connection.ops.quote_name
    selects = [f"(SELECT MAX({quote('number')}) FROM {quote(ConfigVersion._meta.db_table)})"]
    for model in (RuleSet, Rule, FitRule, Stage, Experiment):
        table = quote(model._meta.db_table)
        selects += [f"(SELECT COUNT(*) FROM {table})", f"(SELECT MAX({quote('updated_at')}) FROM {table})"]
    return "SELECT " + ", ".join(selects)


def config_for(config: ScoringConfig, member: MemberFacts | Any) -> ScoringConfig:
    """The configuration that scores a member (MemberFacts, or a Member): variant B's while a running live
    experiment puts them in B (scoring.split), else ``config``. Its stages are the member's stages."""
    return config.for_member(member.pk)


def rules_for(config: ScoringConfig, member: MemberFacts | Any) -> MemberRules:
    """The rules that apply to a member (MemberFacts, or a Member): their persona's set over the default set, of
    their configuration (config_for). Every reader and writer of interest resolves a member's rules here."""
    return config_for(config, member).for_persona(member.persona)


@dataclass(frozen=True)
class InterestValue:
    """A member's interest valued at one instant: what every read shows (see interest_value_at)."""

    engagement: float
    fit: float
    score: float
    stage: str


def interest_value_at(*, engagement: float, ref_time: datetime | None, fit: float, member: Any,
                      config: ScoringConfig, when: datetime) -> InterestValue:
    """Stored interest (engagement valued at ``ref_time``, fit) valued at ``when``: the one rule every read, the
    leaderboard key and the hourly re-valuation use. O(1):

        engagement(when) = engagement * 2 ** (-(when - ref_time) / half_life(member's rules))   (when >= ref_time)
        score = engagement(when) + fit,  stage = the member's configuration's (config_for) stage_for(engagement(when), fit)

    Fit does not decay; engagement may be negative (penalties decay towards 0 too). A row stored ahead of
    ``when`` (actions dated later) is shown at its ref_time, as a recompute at ``when`` stores it.
    """
    if ref_time is not None:
        ref = to_epoch_days(ref_time)
        engagement = value_at(engagement, ref, max(to_epoch_days(when), ref), rules_for(config, member).half_life_days)
    return InterestValue(engagement, fit, engagement + fit, config_for(config, member).stage_for(engagement, fit))


def score_evaluate(score: ScoreRow, member: MemberFacts, config: ScoringConfig, *,
                   keyed_at: datetime | None = None) -> None:
    """Refresh fit, total and stage of a score whose engagement is up to date (in memory), and its leaderboard
    key: the score valued at ``keyed_at`` (default now; see InterestScore.rank_key)."""
    score.fit = rules_for(config, member).fit(member.attributes, member.persona)
    score.score = score.engagement + score.fit
    score.stage = config_for(config, member).stage_for(score.engagement, score.fit)
    score.config_version = config.version
    score.rank_key = interest_value_at(engagement=score.engagement, ref_time=score.ref_time, fit=score.fit,
                                       member=member, config=config, when=keyed_at or timezone.now()).score


def member_merge(member: Member, *, email: str | None = None, email_verified: bool | None = None,
                 display_name: str | None = None, persona: str | None = None, crm_id: str | None = None,
                 attributes: dict[str, Any] | None = None, joined_at: datetime | None = None) -> set[str]:
    """Apply what a source says of a member, in memory: each field given replaces the stored one (None: not
    said), attributes are merged over the stored ones. An email comes with whether the source verified it
    (default: not). Returns the names of the fields that changed."""
    changed = set()
    verified = None if email is None else bool(email_verified)
    for name, value in (("email", email), ("email_verified", verified), ("display_name", display_name),
                        ("persona", persona), ("crm_id", crm_id), ("joined_at", joined_at)):
        if value is not None and getattr(member, name) != value:
            setattr(member, name, value)
            changed.add(name)
    if attributes:
        merged = {**member.attributes, **attributes}
        if merged != member.attributes:
            member.attributes = merged
            changed.add("attributes")
    return changed


def content_merge(content: Content, *, author: Member | None = None, topic: str | None = None,
                  kind: str | None = None, title: str | None = None) -> set[str]:
    """Apply what a source says of a content, in memory (None: not said); the names of the fields that changed.
    ``author`` is the identity the source names: the content's author is its member, ``author_identity`` the
    identity where it is a merged one."""
    changed = set()
    if author is not None:
        person = author if author.merged_into_id is None else Member(pk=author.merged_into_id)
        identity = None if author.merged_into_id is None else author
        if content.author_id != person.pk or content.author is None or content.author_identity_id != (
                identity.pk if identity else None):
            content.author, content.author_identity = person, identity
            changed |= {"author", "author_identity"}
    for name, value in (("topic", topic), ("kind", kind), ("title", title)):
        if value is not None and getattr(content, name) != value:
            setattr(content, name, value)
            changed.add(name)
    return changed


def event_persona(member: Any) -> str | None:
    """The persona an event gives its member (a MemberIn): ``persona``, else ``attributes.persona``; None: not said."""
    if member.persona is not None:
        return member.persona
    if member.attributes and isinstance(member.attributes.get("persona"), str):
        return member.attributes["persona"]
    return None


def event_metadata(event: Any) -> dict[str, Any]:
    """An event's metadata as stored on its action: the content it created is named under ``content``."""
    metadata = dict(event.metadata or {})
    if event.content is not None:
        metadata.setdefault("content", event.content.external_id)
    return metadata


def counted_actions() -> QuerySet[Action]:
    """The actions that earn interest: all but the excluded ones (models.ActionExclusion)."""
    return Action.objects.exclude(Exists(ActionExclusion.objects.filter(action_id=OuterRef("pk"))))


class InterestStore(ABC):
    """Reads and writes of the interest engine. Row-at-a-time ORM work is shared here; each backend supplies the
    set-based parts."""

    name: str

    # --- partitions and the scoring queue ---

    @abstractmethod
    def scorer_partitions(self) -> int:
        """How many scorers may run at once, each for the members whose id % partitions == its partition."""

    @abstractmethod
    def partitions_idle(self, count: int) -> list[int]:
        """The partitions in range(count) that no scorer holds right now."""

    @abstractmethod
    def partition_hold(self, partition: int, *, wait: bool) -> bool:
        """Hold the partition until this transaction ends, so no other scorer scores it meanwhile; False if
        ``wait`` is false and another scorer holds it."""

    @abstractmethod
    def job_hold(self, kind: int, job_id: int) -> AbstractContextManager[bool]:
        """Hold a background job (community_scoring.jobs) while the block runs: yields False when another process
        holds it. The hold ends with the block, or with the process (a worker killed mid-run holds nothing)."""

    @abstractmethod
    def pending_take(self, partition: int, *, limit: int) -> list[Claimed]:
        """Delete and return the partition's oldest pending rows (at most ``limit``; set-aside rows stay)."""

    @abstractmethod
    def pending_action_ids(self, partitions: dict[int, int]) -> Any:
        """The ids of actions pending for a member, given as {partition count: the member's partition under it}, as
        something ``.exclude(pk__in=...)`` takes."""

    def pending_add(self, *, action_ids: Sequence[int], refit: Iterable[int] = (),
                    rescore: Iterable[int] = ()) -> list[int]:
        """Queue actions, and members whose attributes (``refit``) or persona (``rescore``) changed, for scoring in
        the caller's transaction: one row per partition; their ids, in order."""
        ids, n = list(action_ids), self.scorer_partitions()
        rows = InterestPending.objects.bulk_create(
            InterestPending(action_ids=ids, refit=sorted(refit), rescore=sorted(rescore), partition=k, partitions=n)
            for k in range(n))
        return [row.pk for row in rows]

    def batch_queue(self, batch: StoredBatch) -> None:
        """Queue what a stored batch leaves to its scorer, in the batch's transaction: its new actions, and the
        members whose profile it changed. Queued with the change itself: a change committed is re-evaluated even
        when the process dies right after the commit (the batch sent again is all duplicates and changes nothing,
        so nothing would queue it again)."""
        if batch.created or batch.attributes_changed or batch.persona_changed:
            batch.pending = self.pending_add(action_ids=list(batch.created.values()),
                                             refit=batch.attributes_changed, rescore=batch.persona_changed)

    def pending_partition_counts(self) -> list[int]:
        """The partition counts rows may be pending under: this process's, and any other a pending row has."""
        return sorted({self.scorer_partitions(),
                       *InterestPending.objects.values_list("partitions", flat=True).distinct()})

    def pending_exists(self, partition: int) -> bool:
        return InterestPending.objects.filter(partition=partition, error="").exists()

    def partitions_pending(self) -> list[int]:
        """The partitions that have rows waiting: beyond scorer_partitions() when rows were queued under a larger
        scorer count than the one set now."""
        return sorted(InterestPending.objects.filter(error="").values_list("partition", flat=True).distinct()
                      .order_by())

    def commit_without_flush(self) -> None:
        """The current transaction may commit without waiting for its WAL flush (where the database has one)."""

    # --- events and scoring ---

    @abstractmethod
    def action_types_known(self) -> frozenset[str]:
        """The action type keys an event may name."""

    @abstractmethod
    def events_write(self, accepted: list[tuple[int, Any]], *, now: datetime) -> StoredBatch:
        """Store valid events (index, EventIn) in order: their members and contents (inserted or updated), and one
        action per new (source, event id); a known event id stores nothing. The new actions and the changed
        members are queued for scoring (batch_queue) in the transaction that stores them; scoring them is the
        caller's."""

    @abstractmethod
    def interest_apply(self, action_ids: Sequence[int], *, config: ScoringConfig, refit: Iterable[int] = (),
                       partition: tuple[int, int] = (0, 1)) -> Applied:
        """Score newly stored actions (each exactly once) for the owners in ``partition`` (k, n): members whose
        id % n == k. ``refit``: members whose attributes changed (fit re-evaluated, for those among the owners).
        Returns the stage changes, stored (announcing them is the caller's), and the owners."""

    # --- rows shared by every backend ---

    def config_fingerprint(self) -> tuple:
        """(latest config version number, then row count and latest updated_at of each config table), one query:
        what the compiled configuration's cache is keyed by (selectors.config)."""
        with connection.cursor() as cursor:
            sized_execute(cursor, _fingerprint_sql(connection.vendor), [], rows=1)  # prepared: runs every batch
            row = cursor.fetchone()
        return (row[0] or 0, *row[1:])

    def members_facts(self, member_ids: Iterable[int]) -> dict[int, MemberFacts]:
        rows = Member.objects.filter(ids_q("pk", member_ids)).values_list(
            "pk", "persona", "attributes", "email", "external_id")
        return {r[0]: MemberFacts(r[0], r[1] or "", r[2] or {}, r[3] or "", r[4]) for r in rows}

    def scores_lock(self, member_ids: Iterable[int], *, floor_stage: str) -> dict[int, ScoreRow]:
        """Lock (creating when missing) the InterestScore rows of these members, in member-id order.

        Every missing row is inserted first (in member-id order, existing ones left alone), and only then are all
        rows locked, in member-id order. Locking the existing rows before inserting the missing ones could
        deadlock: batch A locks 1 and 3 and waits on B's uncommitted insert of 2 while B waits on A's lock of 1.
        Here an insert only waits on another batch's uncommitted insert of a lower-or-equal id, before either
        holds a row lock taken by this function, so the waits always go one way.
        """
        ids = sorted(set(member_ids))
        if not ids:
            return {}
        now = timezone.now()
        rows_upsert(InterestScore, columns=["member", "engagement", "fit", "score", "stage", "primary_topic",
                                            "config_version", "updated_at"],
                    rows=[(m, 0.0, 0.0, 0.0, floor_stage, "", 0, now) for m in ids], conflict=["member"])
        locked = InterestScore.objects.select_for_update().order_by("member_id").values_list("member_id", *SCORE_FIELDS)
        return {r[0]: ScoreRow(*r) for r in locked.filter(ids_q("member_id", ids))}

    def scores_save(self, scores: Iterable[ScoreRow]) -> None:
        """Write scores in one statement (the rows exist and are locked by the caller)."""
        now = timezone.now()
        rows_upsert(InterestScore, columns=["member", *SCORE_FIELDS, "updated_at"],
                    rows=[(s.member_id, *(getattr(s, f) for f in SCORE_FIELDS), now) for s in scores],
                    conflict=["member"], update=[*SCORE_FIELDS, "updated_at"])

    def scored_member_ids(self, member_ids: Iterable[int]) -> list[int]:
        return list(InterestScore.objects.filter(ids_q("member_id", member_ids)).values_list("member_id", flat=True))

    def buckets_write(self, rows: Sequence[tuple]) -> None:
        """Upsert bucket rows given as tuples in BUCKET_COLUMNS order."""
        rows_upsert(InterestBucket, columns=BUCKET_COLUMNS, rows=rows,
                    conflict=["member", "action_type", "received", "day"],
                    update=["count", "raw_points", "points", "topic_counts"])

    def buckets_delete(self, member_ids: Sequence[int]) -> None:
        InterestBucket.objects.filter(ids_q("member_id", member_ids)).delete()
        InterestTopic.objects.filter(ids_q("member_id", member_ids)).delete()

    def topics_write(self, rows: Sequence[tuple]) -> None:
        """Upsert (member id, topic, points, ref_time) rows."""
        rows_upsert(InterestTopic, columns=["member", "topic", "points", "ref_time"], rows=rows,
                    conflict=["member", "topic"], update=["points", "ref_time"])

    def topics_load(self, member_ids: Iterable[int]) -> dict[int, dict[str, tuple[float, float]]]:
        """member id -> topic -> (points, ref epoch days) for every stored topic of these members."""
        out: dict[int, dict[str, tuple[float, float]]] = defaultdict(dict)
        ids = list(member_ids)
        if ids:
            for m, topic, points, ref in InterestTopic.objects.filter(ids_q("member_id", ids)).values_list(
                "member_id", "topic", "points", "ref_time"
            ):
                out[m][topic] = (points, to_epoch_days(ref))
        return out

    def rank_keys_refresh(self, member_ids: Sequence[int], *, config: ScoringConfig, at: datetime) -> int:
        """Re-key these members' score rows: rank_key = the score valued at ``at`` (interest_value_at), one
        statement per call. Returns the rows re-keyed. (The PostgreSQL backend does it in SQL and skips rows a
        scorer holds: that scorer writes their key.)"""
        rows = list(InterestScore.objects.filter(ids_q("member_id", member_ids)).select_related("member").only(
            "member_id", "engagement", "ref_time", "fit", "rank_key", "member__id", "member__persona"))
        for row in rows:
            row.rank_key = interest_value_at(engagement=row.engagement, ref_time=row.ref_time, fit=row.fit,
                                             member=row.member, config=config, when=at).score
        InterestScore.objects.bulk_update(rows, ["rank_key"], batch_size=500)
        return len(rows)

    # --- reads valued at one instant (the PostgreSQL backend computes them in SQL, tested against these) ---

    def members_in_stages(self, members: QuerySet[Member], stages: Collection[str], *, config: ScoringConfig,
                          at: datetime) -> QuerySet[Member]:
        """Those of ``members`` whose stage valued at ``at`` (interest_value_at) is one of ``stages``; a member
        without a score row is in none."""
        wanted = set(stages)
        rows = members.filter(interest__isnull=False).values_list(
            "pk", "persona", "interest__engagement", "interest__ref_time", "interest__fit")
        return members.filter(ids_q("pk", [pk for pk, stage in _stages_at(rows, config=config, at=at)
                                           if stage in wanted]))

    def scores_per_stage(self, scores: QuerySet[InterestScore], *, config: ScoringConfig,
                         at: datetime) -> dict[str, int]:
        """How many of these score rows' members are in each stage valued at ``at`` (interest_value_at)."""
        rows = scores.values_list("member_id", "member__persona", "engagement", "ref_time", "fit")
        return dict(Counter(stage for _, stage in _stages_at(rows, config=config, at=at)))

    def transitions_save(self, changes: Sequence[StageChange]) -> None:
        StageTransition.objects.bulk_create([
            StageTransition(member_id=c.member_id, from_stage=c.from_stage, to_stage=c.to_stage, occurred_at=c.at,
                            engagement=c.engagement, fit=c.fit, reason=c.reason)
            for c in changes
        ])


def _stages_at(rows: QuerySet, *, config: ScoringConfig, at: datetime) -> Iterator[tuple[int, str]]:
    """(member id, stage valued at ``at``) of each (member id, persona, engagement, ref_time, fit) row."""
    for pk, persona, engagement, ref_time, fit in rows.order_by().iterator(chunk_size=2000):
        member = MemberFacts(pk, persona or "", {}, "", "")
        yield pk, interest_value_at(engagement=engagement, ref_time=ref_time, fit=fit, member=member, config=config,
                                    when=at).stage


def stage_change_of(score: ScoreRow, member: MemberFacts, *, old_stage: str, at: datetime,
                    reason: str) -> StageChange:
    return StageChange(member.pk, member.external_id, member.email, old_stage, score.stage, score.engagement,
                       score.fit, reason, at)
