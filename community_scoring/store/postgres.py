"""The interest store on PostgreSQL: all of the interest engine's SQL, set-based, the arithmetic inside the database.

Statements are composed with psycopg2.sql: table names come from the models (``_meta.db_table``) as quoted
identifiers, every value is a parameter (arrays as one literal each: store.bulk.pg_array). Per ingested batch:

- ``events_write``: the members and contents it names (one upsert statement each, _MEMBERS_UPSERT_SQL and
  _CONTENTS_UPSERT_SQL, in a short transaction of their own), then ``INSERT ... ON CONFLICT (source,
  external_event_id) DO NOTHING RETURNING`` of its actions, in key order (two batches sharing new event ids in
  different orders would otherwise deadlock on the unique index), and the members' changed fields;
- the scoring queue (services.interest_queue): advisory locks per partition, the claim of pending rows;
- ``interest_apply``, three statements per pass whatever its size:

  1. ``_OWNERS_SQL``: who the pass scores (every actor, and every target whose rule gives target points under
     their own rule set), inserting their missing score rows in member-id order;
  2. ``_LOCK_SQL``: SELECT ... FOR UPDATE of those rows in member-id order (the same one-direction locking as
     store.base.InterestStore.scores_lock), returning the rows whose fit must be re-evaluated;
  3. the apply statement: bucket upsert (caps, once-only credit moving to an earlier day), per-bucket deltas,
     topic interest with decay, primary topic, engagement with decay, fit, stage, last activity, the score update
     and the StageTransition rows, as data-modifying CTEs of one statement, returning the stage changes.

The rules are those of community_scoring.scoring (the reference), written as SQL expressions once each here
(``_decay``, ``_clamp``, and ``_stage_sql``, a table the Python stage rule fills in: _StageGrid);
tests/community_scoring/store/ checks this backend against the Python one with hypothesis. Reads valued at one
instant (store.base.interest_value_at) use the same pieces: the leaderboard key (``_rank_key``) and each member's
stage at now (``_stage_at_sql``: the member list's stage filter and the dashboard's funnel, checked against the
Python store by tests/community_scoring/selectors/test_stage_at_now.py).

Fit is a Python function of member attributes (scoring.fit): evaluated in Python, only for the rows that need it
(new score rows, rows of an older config version, members whose attributes the batch changed: ``refit``); every
other row keeps its stored fit.

Decay: a running value is stored as (value, ref) (see scoring.decay). Folding deltas d_i earned at w_i into it
gives ref' = max(ref, w_i...) and value' = value * f(ref' - ref) + sum(d_i * f(ref' - w_i)), f(x) = 2^(-x/h):
the closed form of applying scoring.decay.accumulate in any order (equal up to float rounding).

Persona matching follows scoring.ruleset.persona_key (trimmed, case-insensitive), with PostgreSQL's lower() for
Python's casefold() (they differ only for a few non-ASCII letters such as 'ß').
"""
from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import CharField, Count, F, Func, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from psycopg2 import sql

from community_scoring.models import (
    Action, ActionExclusion, ActionType, Content, InterestBucket, InterestPending, InterestScore, InterestTopic, Member,
    StageTransition,
)
from community_scoring.scoring.ruleset import INACTIVITY, ScoringConfig
from community_scoring.scoring.split import BUCKETS, split_cut
from community_scoring.store.base import (
    Applied, Claimed, InterestStore, StageChange, StoredBatch, event_metadata, event_persona, rules_for,
)
from community_scoring.store.bulk import commit_without_flush, pg_array, rows_upsert, sized_execute

_TABLES = {
    "action": Action, "exclusion": ActionExclusion, "action_type": ActionType, "member": Member, "content": Content,
    "score": InterestScore,
    "bucket": InterestBucket, "topic": InterestTopic, "transition": StageTransition, "pending": InterestPending,
}


def _compose(template: str, **fragments: sql.Composable) -> str:
    """A statement's text: ``{table}`` placeholders filled with the models' quoted table names (and ``fragments``)."""
    connection.ensure_connection()
    names = {key: sql.Identifier(model._meta.db_table) for key, model in _TABLES.items()}
    return sql.SQL(template).format(**names, **fragments).as_string(connection.connection)


@lru_cache(maxsize=None)
def _statement(template: str) -> str:
    """_compose, once per template (the names never change while the process runs)."""
    return _compose(template)


# The advisory locks scorers hold while they score: this plus the partition ("cs-score").
SCORER_LOCK = 0x63732D73636F7265

_PERSONA_KEY = "lower(btrim({col}, E' \\t\\n\\r\\x0b\\x0c'))"

# The batch's actions. The id range lets the planner use the primary key whatever its statistics say: without them
# (a table never analyzed, e.g. autovacuum off) it scanned the whole action log for each statement (measured:
# 44 ms for 4,000 ids among 313,000 actions, 3.5 ms by the index).
_ACTIONS_BY_ID = "id = ANY(%(ids)s::bigint[]) AND id BETWEEN %(id_lo)s::bigint AND %(id_hi)s::bigint"
# The actions that count (store.base.counted_actions): not excluded (models.ActionExclusion, one index probe each).
_COUNTED = "NOT EXISTS (SELECT 1 FROM {exclusion} x WHERE x.action_id = {action}.id)"

# The configuration as tables: rule sets (variant, persona key, half-life) and their rules (persona sets already
# merged over the default set, as in scoring.ruleset). ``v`` is true for the sets of a running experiment's
# variant B (ScoringConfig.split), false for the configuration's own.
_CONFIG_CTES = """
pk(v, rk, hl) AS (SELECT * FROM unnest(%(pk_v)s::bool[], %(pk)s::text[], %(hl)s::float8[])),
ru(v, rk, t, pts, tpts, cap, once) AS (
    SELECT * FROM unnest(%(ru_v)s::bool[], %(ru_rk)s::text[], %(ru_t)s::text[], %(ru_pts)s::float8[],
                         %(ru_tpts)s::float8[], %(ru_cap)s::float8[], %(ru_once)s::bool[]))
"""

# scoring.split.variant_of(...) == "B" as SQL over a member id: the first four bytes of md5("<experiment>:<member>")
# as an unsigned integer, modulo the buckets, below the cut; only for members above first_member_id (without a
# running experiment x_first is the largest bigint: no member takes part).
_IN_B = ("(CASE WHEN {col} > %(x_first)s::bigint THEN ('x' || substr(md5(%(x_id)s::text || ':' || {col}::text), 1, 8))"
         "::bit(32)::bigint %% %(x_buckets)s::int < %(x_cut)s::int ELSE false END)")

# Each member's variant (live experiment), rule set and half-life, for the members the {members} condition picks:
# the apply statement's owners and the re-key's rows resolve them the same way (store.base.config_for/rules_for).
_OWN = f"""  -- each member's variant, rule set and half-life
    SELECT m.id AS m, m.v, COALESCE(pk.rk, '') AS rk, CASE WHEN pk.rk IS NULL THEN d.hl ELSE pk.hl END AS hl
    FROM (SELECT id, persona, {_IN_B.format(col='id')} AS v FROM {{{{member}}}} WHERE {{members}}) m
    JOIN pk d ON d.v = m.v AND d.rk = ''
    LEFT JOIN pk ON pk.v = m.v AND pk.rk = {_PERSONA_KEY.format(col='m.persona')} AND pk.rk <> ''"""

_OWNERS_SQL = f"""
WITH {_CONFIG_CTES},
act AS (SELECT member_id, target_member_id, action_type_id FROM {{action}} WHERE {_ACTIONS_BY_ID} AND {_COUNTED}),
tgt AS (SELECT DISTINCT target_member_id AS m, action_type_id AS t FROM act
        WHERE target_member_id IS NOT NULL AND target_member_id <> member_id),
owners AS (  -- of this partition (member id modulo the partitions: see services.interest_queue)
    SELECT member_id AS m FROM act WHERE member_id %% %(part_n)s::int = %(part_k)s::int
    UNION
    SELECT tgt.m FROM tgt
    JOIN (SELECT id, persona, {_IN_B.format(col='id')} AS v FROM {{member}}) mm ON mm.id = tgt.m
    LEFT JOIN pk ON pk.v = mm.v AND pk.rk = {_PERSONA_KEY.format(col='mm.persona')}
    JOIN ru ON ru.v = mm.v AND ru.rk = COALESCE(pk.rk, '') AND ru.t = tgt.t
    WHERE ru.tpts <> 0 AND tgt.m %% %(part_n)s::int = %(part_k)s::int),
ins AS (
    INSERT INTO {{score}} (member_id, engagement, fit, score, stage, primary_topic, config_version, updated_at)
    SELECT m, 0, 0, 0, %(floor)s::varchar, '', 0, %(now)s::timestamptz FROM owners ORDER BY m
    ON CONFLICT (member_id) DO NOTHING RETURNING member_id)
SELECT (SELECT array_agg(m ORDER BY m) FROM owners), (SELECT array_agg(member_id) FROM ins)
"""

_LOCK_SQL = """
SELECT array_agg(member_id) FILTER (WHERE config_version <> %(version)s::int) FROM (
    SELECT member_id, config_version FROM {score} WHERE member_id = ANY(%(owners)s::bigint[])
    ORDER BY member_id FOR UPDATE) locked
"""


def _decay(x: str, hl: str) -> str:
    """SQL for 2^(-x/hl), 1 without a half-life (scoring.decay.decay_factor)."""
    return f"(CASE WHEN {hl} IS NULL THEN 1.0::float8 ELSE power(2.0::float8, -({x}) / {hl}) END)"


def _clamp(x: str, cap: str) -> str:
    """SQL for scoring.caps.cap_clamp."""
    return f"(CASE WHEN {cap} IS NULL THEN {x} ELSE greatest(-{cap}, least({cap}, {x})) END)"


# Epoch days of a timestamptz (scoring.decay.to_epoch_days). date_part is float8 and gives the same number as
# extract(epoch)::float8 (both the correctly rounded microseconds / 10^6); extract is numeric since PostgreSQL 14,
# and converting it cost half of valuing a score row (the rank key of 100k rows in one statement: 63 ms -> 33 ms).
_EPOCH_DAYS = "(date_part('epoch', {col}) / 86400.0)"


def _elapsed(ref_time: str) -> str:
    """SQL for the days from ``ref_time`` to %(now)s, 0 for a row stored ahead of it (store.base.interest_value_at)."""
    now = _EPOCH_DAYS.format(col="%(now)s::timestamptz")
    return f"greatest({now} - {_EPOCH_DAYS.format(col=ref_time)}, 0.0::float8)"


def _valued(e: str, ref_time: str, decay: str) -> str:
    """SQL for engagement ``e`` stored valued at ``ref_time``, valued at %(now)s: ``e`` times ``decay`` (the decay
    factor over _elapsed(ref_time)); a row never valued keeps ``e`` (store.base.interest_value_at)."""
    return f"({e} * CASE WHEN {ref_time} IS NULL THEN 1.0::float8 ELSE {decay} END)"


def _rank_key(e: str, ref_time: str, fit: str, hl: str) -> str:
    """SQL for InterestScore.rank_key: the score valued at %(now)s (store.base.interest_value_at)."""
    return f"({_valued(e, ref_time, _decay(_elapsed(ref_time), hl))} + {fit})"


_APPLY_TEMPLATE = f"""
WITH {_CONFIG_CTES},
fits(m, f) AS (SELECT * FROM unnest(%(fit_ids)s::bigint[], %(fit_vals)s::float8[])),
act AS (
    SELECT member_id, target_member_id, action_type_id AS t, occurred_at, topic,
           (occurred_at AT TIME ZONE 'UTC')::date AS d
    FROM {{action}} WHERE {_ACTIONS_BY_ID} AND {_COUNTED}),
own AS ({_OWN.format(members="id = ANY(%(owners)s::bigint[])")}),
sides AS (  -- acting on yourself earns nothing; this partition's owners only
    SELECT member_id AS o, t, false AS r, d, topic, occurred_at FROM act
    WHERE (target_member_id IS NULL OR target_member_id <> member_id)
      AND member_id %% %(part_n)s::int = %(part_k)s::int
    UNION ALL
    SELECT target_member_id, t, true, d, topic, occurred_at FROM act
    WHERE target_member_id <> member_id AND target_member_id %% %(part_n)s::int = %(part_k)s::int),
ruled AS (
    SELECT s.* FROM sides s JOIN own ON own.m = s.o LEFT JOIN ru ON ru.v = own.v AND ru.rk = own.rk AND ru.t = s.t
    WHERE NOT s.r OR COALESCE(ru.tpts, 0) <> 0),
bt AS (SELECT o, t, r, d, topic, count(*)::int AS n FROM ruled GROUP BY o, t, r, d, topic),
adds AS (
    SELECT b.o, b.t, b.r, b.d, sum(b.n)::int AS n,
           COALESCE(jsonb_object_agg(b.topic, b.n) FILTER (WHERE b.topic <> ''), jsonb_build_object()) AS tc,
           COALESCE(CASE WHEN b.r THEN max(ru.tpts) ELSE max(ru.pts) END, 0) AS unit, max(ru.cap) AS cap,
           COALESCE(bool_or(ru.once), false) AS once
    FROM bt b JOIN own ON own.m = b.o LEFT JOIN ru ON ru.v = own.v AND ru.rk = own.rk AND ru.t = b.t
    GROUP BY b.o, b.t, b.r, b.d),
series AS (SELECT DISTINCT o, t, r, unit, cap FROM adds WHERE once),
sold AS (  -- every stored bucket of a once-only series the batch touches: the credit may move to an earlier day
    SELECT b.member_id AS o, b.action_type_id AS t, b.received AS r, b.day AS d, b.count, b.raw_points, b.points,
           b.topic_counts, s.unit, s.cap
    FROM {{bucket}} b JOIN series s ON b.member_id = s.o AND b.action_type_id = s.t AND b.received = s.r),
firsts AS (
    SELECT o, t, r, min(d) AS fd FROM (
        SELECT o, t, r, d FROM sold WHERE count > 0 UNION ALL SELECT o, t, r, d FROM adds WHERE once) x
    GROUP BY o, t, r),
cand AS (
    SELECT k.o, k.t, k.r, k.d, COALESCE(ob.count, 0) + k.n AS count, COALESCE(ob.count, 0) AS old_count,
           COALESCE(ob.raw_points, 0) + k.n * k.unit AS raw_points, COALESCE(ob.points, 0) AS old_points,
           COALESCE(ob.topic_counts, jsonb_build_object()) AS old_tc,
           CASE WHEN ob.topic_counts IS NULL OR ob.topic_counts = jsonb_build_object() THEN k.tc ELSE (
               SELECT jsonb_object_agg(e.key, e.n) FROM (
                   SELECT key, sum(value::int) AS n FROM (
                       SELECT * FROM jsonb_each_text(ob.topic_counts) UNION ALL SELECT * FROM jsonb_each_text(k.tc)) u
                   GROUP BY key) e) END AS tc,
           k.unit, k.cap, k.once, true AS added
    FROM adds k LEFT JOIN LATERAL (  -- the stored bucket: one index probe per key, whatever the estimates
        SELECT b.count, b.raw_points, b.points, b.topic_counts FROM {{bucket}} b
        WHERE b.member_id = k.o AND b.action_type_id = k.t AND b.received = k.r AND b.day = k.d) ob ON true
    UNION ALL
    SELECT so.o, so.t, so.r, so.d, so.count, so.count, so.raw_points, so.points, so.topic_counts, so.topic_counts,
           so.unit, so.cap, true, false
    FROM sold so WHERE NOT EXISTS (SELECT 1 FROM adds k WHERE k.o = so.o AND k.t = so.t AND k.r = so.r AND k.d = so.d)),
valued AS (
    SELECT c.*, CASE WHEN c.count <= 0 THEN 0.0::float8
                     WHEN c.once THEN CASE WHEN c.d = f.fd THEN {_clamp('c.unit', 'c.cap')} ELSE 0.0::float8 END
                     ELSE {_clamp('c.raw_points', 'c.cap')} END AS points
    FROM cand c LEFT JOIN firsts f ON f.o = c.o AND f.t = c.t AND f.r = c.r),
changed AS (
    SELECT v.*, (v.d - DATE '1970-01-01')::float8 AS w, own.hl
    FROM valued v JOIN own ON own.m = v.o WHERE v.added OR v.points <> v.old_points),
bw AS (
    INSERT INTO {{bucket}} (member_id, action_type_id, received, day, count, raw_points, points, topic_counts)
    SELECT o, t, r, d, count, raw_points, points, tc FROM changed ORDER BY o, t, r, d
    ON CONFLICT (member_id, action_type_id, received, day) DO UPDATE SET count = EXCLUDED.count,
        raw_points = EXCLUDED.raw_points, points = EXCLUDED.points, topic_counts = EXCLUDED.topic_counts),
tv AS (  -- topic values of each changed bucket, new minus old (services.interest._Bucket.topic_values)
    SELECT c.o, c.t, c.r, c.w, c.hl, e.key AS topic, c.points * e.value::float8 / c.count AS v
    FROM changed c, jsonb_each_text(c.tc) e WHERE c.count > 0 AND c.points <> 0 AND e.value::float8 <> 0
    UNION ALL
    SELECT c.o, c.t, c.r, c.w, c.hl, e.key, -(c.old_points * e.value::float8 / c.old_count)
    FROM changed c, jsonb_each_text(c.old_tc) e WHERE c.old_count > 0 AND c.old_points <> 0 AND e.value::float8 <> 0),
td AS (SELECT o, topic, w, max(hl) AS hl, sum(v) AS delta FROM tv GROUP BY o, t, r, w, topic HAVING sum(v) <> 0),
tref AS (
    SELECT m.o, m.topic, m.hl, st.points AS ov, st.ref AS oref, greatest(m.wmax, st.ref) AS nref
    FROM (SELECT o, topic, max(hl) AS hl, max(w) AS wmax FROM td GROUP BY o, topic) m
    LEFT JOIN (SELECT member_id, topic, points, {_EPOCH_DAYS.format(col='ref_time')} AS ref FROM {{topic}}
               WHERE member_id = ANY(%(owners)s::bigint[])) st ON st.member_id = m.o AND st.topic = m.topic),
tnew AS (
    SELECT r.o, r.topic, r.nref,
           COALESCE(r.ov * {_decay('r.nref - r.oref', 'r.hl')}, 0.0) + sum(td.delta * {_decay('r.nref - td.w', 'r.hl')}) AS v
    FROM tref r JOIN td ON td.o = r.o AND td.topic = r.topic
    GROUP BY r.o, r.topic, r.nref, r.ov, r.oref, r.hl),
tw AS (
    INSERT INTO {{topic}} (member_id, topic, points, ref_time)
    SELECT o, topic, v, to_timestamp(nref * 86400.0) FROM tnew ORDER BY o, topic
    ON CONFLICT (member_id, topic) DO UPDATE SET points = EXCLUDED.points, ref_time = EXCLUDED.ref_time),
alltop AS (  -- every topic of the owners whose topics changed, as they stand after this batch
    SELECT o, topic, v, nref AS ref FROM tnew
    UNION ALL
    SELECT s.member_id, s.topic, s.points, {_EPOCH_DAYS.format(col='s.ref_time')} FROM {{topic}} s
    WHERE s.member_id IN (SELECT o FROM tnew)
      AND NOT EXISTS (SELECT 1 FROM tnew n WHERE n.o = s.member_id AND n.topic = s.topic)),
valued_topics AS (
    SELECT a.o, a.topic, a.v * {_decay('max(a.ref) OVER (PARTITION BY a.o) - a.ref', 'own.hl')} AS value
    FROM alltop a JOIN own ON own.m = a.o),
pt AS (  -- scoring.ledger.primary_topic: the most positive value, ties by name
    SELECT DISTINCT ON (o) o, topic FROM valued_topics WHERE value > 0 ORDER BY o, value DESC, topic COLLATE "C"),
sc AS (
    SELECT s.member_id AS o, s.engagement, s.ref_time, {_EPOCH_DAYS.format(col='s.ref_time')} AS ref, s.fit, s.stage,
           s.primary_topic, s.last_activity_at, own.hl, own.v
    FROM {{score}} s JOIN own ON own.m = s.member_id),
eref AS (
    SELECT sc.o, greatest(sc.ref, dm.wmax) AS nref FROM sc JOIN (SELECT o, max(w) AS wmax FROM changed GROUP BY o) dm
    ON dm.o = sc.o),
esum AS (
    SELECT c.o, sum((c.points - c.old_points) * {_decay('er.nref - c.w', 'c.hl')}) AS s
    FROM changed c JOIN eref er ON er.o = c.o GROUP BY c.o),
la AS (SELECT member_id AS o, max(occurred_at) AS at FROM act WHERE t <> %(inactivity)s::varchar GROUP BY member_id),
lt AS (
    SELECT o, max(occurred_at) AS at FROM (
        SELECT member_id AS o, occurred_at FROM act UNION ALL SELECT o, occurred_at FROM ruled WHERE r) x
    GROUP BY o),
fin AS (
    SELECT sc.o,
           CASE WHEN er.o IS NULL THEN sc.engagement
                ELSE sc.engagement * CASE WHEN sc.ref IS NULL THEN 1.0::float8
                                          ELSE {_decay('er.nref - sc.ref', 'sc.hl')} END + es.s END AS e,
           CASE WHEN er.o IS NULL THEN sc.ref_time ELSE to_timestamp(er.nref * 86400.0) END AS ref_time,
           COALESCE(fits.f, sc.fit) AS fit,
           CASE WHEN sc.o IN (SELECT o FROM tnew) THEN COALESCE(pt.topic, '') ELSE sc.primary_topic END AS pt,
           greatest(sc.last_activity_at, la.at) AS la,
           COALESCE(NULLIF(sc.stage, ''), %(floor)s::varchar) AS old_stage, lt.at, sc.v, sc.hl
    FROM sc LEFT JOIN eref er ON er.o = sc.o LEFT JOIN esum es ON es.o = sc.o LEFT JOIN fits ON fits.m = sc.o
    LEFT JOIN pt ON pt.o = sc.o LEFT JOIN la ON la.o = sc.o LEFT JOIN lt ON lt.o = sc.o),
staged AS (SELECT fin.*, {{stage}} AS stage FROM fin),
up AS (
    UPDATE {{score}} s SET engagement = f.e, ref_time = f.ref_time, fit = f.fit, score = f.e + f.fit,
        rank_key = {_rank_key('f.e', 'f.ref_time', 'f.fit', 'f.hl')},
        stage = f.stage, primary_topic = f.pt, last_activity_at = f.la, config_version = %(version)s::int,
        updated_at = %(now)s::timestamptz
    FROM staged f WHERE s.member_id = f.o AND s.member_id = ANY(%(owners)s::bigint[])),
tr AS (
    INSERT INTO {{transition}} (member_id, from_stage, to_stage, occurred_at, engagement, fit, reason)
    SELECT o, old_stage, stage, at, e, fit, 'action' FROM staged WHERE stage <> old_stage ORDER BY o)
SELECT f.o, f.old_stage, f.stage, f.at, f.e, f.fit, m.external_id, m.email
FROM staged f JOIN {{member}} m ON m.id = f.o
WHERE f.stage <> f.old_stage AND m.id = ANY(%(owners)s::bigint[]) ORDER BY f.o
"""


# InterestScore.rank_key of a range of members valued at %(now)s, each under their rule set's half-life (as `own`
# in the apply statement); rows a scorer holds are skipped (it writes their key as it commits).
_REKEY_SQL = f"""
WITH {_CONFIG_CTES},
held AS (SELECT member_id FROM {{score}} WHERE member_id = ANY(%(ids)s::bigint[]) ORDER BY member_id
         FOR UPDATE SKIP LOCKED),
own AS ({_OWN.format(members="id IN (SELECT member_id FROM held)")})
UPDATE {{score}} s SET rank_key = {_rank_key('s.engagement', 's.ref_time', 's.fit', 'own.hl')}
FROM own WHERE s.member_id = own.m
"""


@dataclass(frozen=True)
class _Plan:
    """A configuration as statement parameters and the apply statement's text (built once per configuration)."""

    params: dict[str, Any]
    apply_sql: str  # the stage CASE varies with the configuration


_plan_cached: tuple[ScoringConfig, _Plan] | None = None  # the current configuration's


@dataclass(frozen=True)
class _StageGrid:
    """config.stage_for (scoring.stages.stage_for) as a table. Not a second copy of the rule: stage_for reads
    engagement only through which thresholds it reaches, and fit likewise, so it is constant on each cell of the
    grid the distinct thresholds draw, and the rule itself names each cell's stage (at the cell's lower corner).
    SQL finds a value's row or column with width_bucket: the count of thresholds it reaches (equal reaches, as
    ``>=``)."""

    engagements: list[float]
    fits: list[float]
    names: list[str]  # cell (engagement bucket i, fit bucket j) at i * (len(fits) + 1) + j

    @classmethod
    def of(cls, config: ScoringConfig) -> "_StageGrid":
        engagements = sorted({stage.min_engagement for stage in config.stages})
        fits = sorted({stage.min_fit for stage in config.stages})
        return cls(engagements, fits, [config.stage_for(corner_e, corner_f) for corner_e in (-math.inf, *engagements)
                                       for corner_f in (-math.inf, *fits)])

    def reachable(self) -> list[set[str]]:
        """Per cell: the stages a score stored in it can be in at any instant. Decay moves engagement towards 0 and
        never past it, so the engagement valued at any instant lies between 0 and the stored one, and so does its
        engagement bucket; fit does not move."""
        width = len(self.fits) + 1
        zero = bisect_right(self.engagements, 0.0)  # the bucket of 0 (width_bucket)
        return [{self.names[b * width + j] for b in range(min(i, zero), max(i, zero) + 1)}
                for i in range(len(self.engagements) + 1) for j in range(width)]

    def cell_sql(self, params: dict[str, Any], prefix: str, *, e: str, fit: str) -> str:
        """SQL for the 0-based cell of (e, fit); ``e`` is evaluated once."""
        params[f"{prefix}_e"], params[f"{prefix}_f"] = pg_array(self.engagements), pg_array(self.fits)
        return (f"(width_bucket({e}, %({prefix}_e)s::float8[]) * {len(self.fits) + 1}"
                f" + width_bucket({fit}, %({prefix}_f)s::float8[]))")


def _stage_sql(config: ScoringConfig, params: dict[str, Any], prefix: str = "st", *, e: str = "fin.e",
               fit: str = "fin.fit", v: str = "fin.v") -> str:
    """SQL for config.stage_for(e, fit), looked up in its _StageGrid; a running experiment's members in B (``v``)
    get B's stages."""
    if config.split is not None:
        return (f"(CASE WHEN {v} THEN {_stage_sql(config.split.config, params, 'b' + prefix, e=e, fit=fit)} "
                f"ELSE {_stage_sql(replace(config, split=None), params, prefix, e=e, fit=fit)} END)")
    if not config.stages:
        return "''::varchar"
    grid = _StageGrid.of(config)
    params[f"{prefix}_names"] = pg_array(grid.names)
    return f"(%({prefix}_names)s::varchar[])[{grid.cell_sql(params, prefix, e=e, fit=fit)} + 1]"


def _stage_candidates_sql(config: ScoringConfig, params: dict[str, Any], stages: Collection[str], *,
                          engagement: str, fit: str) -> str:
    """SQL false for a score row whose member cannot be in any of ``stages`` at whatever instant, from its stored
    engagement and fit alone (_StageGrid.reachable): a cheap, exact prefilter for _stage_at_sql. Either variant of
    a split may apply."""
    wanted, clauses = set(stages), []
    for k, variant in enumerate([replace(config, split=None), *([config.split.config] if config.split else [])]):
        grid = _StageGrid.of(variant)
        params[f"c{k}_cells"] = pg_array([cell for cell, reached in enumerate(grid.reachable()) if reached & wanted])
        clauses.append(f"{grid.cell_sql(params, f'c{k}', e=engagement, fit=fit)} = ANY(%(c{k}_cells)s::int[])")
    return f"({' OR '.join(clauses)})"


def _own_half_lives(config: ScoringConfig) -> list[tuple[str, float | None]]:
    """(persona key, half-life) of the rule sets whose half-life is not the default set's (config without a split)."""
    default = config.default.half_life_days
    return [(key, rules.half_life_days) for key, rules in sorted(config.personas.items())
            if rules.half_life_days != default]


def _decay_by_persona(config: ScoringConfig, params: dict[str, Any], prefix: str, *, persona: str,
                      elapsed: str) -> str:
    """SQL for the decay factor over ``elapsed`` under the half-life of the member's rule set (their persona's,
    else the default set's: store.base.rules_for), for a configuration without a split. Only personas with a
    half-life of their own are named (_own_half_lives); without any, the persona is not read."""
    params[f"{prefix}_hl"] = config.default.half_life_days
    fallback = _decay(elapsed, f"%({prefix}_hl)s::float8")
    whens = []
    for i, (key, half_life) in enumerate(_own_half_lives(config)):
        params[f"{prefix}_pk{i}"], params[f"{prefix}_hl{i}"] = key, half_life
        whens.append(f"WHEN %({prefix}_pk{i})s::text THEN {_decay(elapsed, f'%({prefix}_hl{i})s::float8')}")
    return f"(CASE {_PERSONA_KEY.format(col=persona)} {' '.join(whens)} ELSE {fallback} END)" if whens else fallback


def _stage_at_sql(config: ScoringConfig, params: dict[str, Any], *, member: str, persona: str, engagement: str,
                  ref_time: str, fit: str) -> str:
    """SQL for the member's stage valued at %(now)s, over these columns of a member and their score row: the stage
    store.base.interest_value_at gives (the engagement valued under the member's half-life, their configuration's
    stages); NULL without a score row. One expression per row, so a filter on it can stop early under a LIMIT."""
    def staged(variant: ScoringConfig, prefix: str) -> str:
        # A score whose stored cell can reach one stage only is in it at any instant: neither decay nor the persona
        # is computed for it (most rows: every one that has not reached the second stage, where it has no
        # threshold below 0); the others are valued.
        grid = _StageGrid.of(variant)
        params[f"{prefix}k_names"] = pg_array([next(iter(r)) if len(r) == 1 else None for r in grid.reachable()])
        known = f"(%({prefix}k_names)s::varchar[])[{grid.cell_sql(params, f'{prefix}k', e=engagement, fit=fit)} + 1]"
        decay = _decay_by_persona(variant, params, f"{prefix}d", persona=persona, elapsed=_elapsed(ref_time))
        valued = _stage_sql(variant, params, f"{prefix}s", e=_valued(engagement, ref_time, decay), fit=fit)
        return f"COALESCE({known}, {valued})"

    if config.split is None:
        return staged(config, "a")
    params.update(_split_params(config))
    return (f"(CASE WHEN {_IN_B.format(col=member)} THEN {staged(config.split.config, 'b')} "
            f"ELSE {staged(replace(config, split=None), 'a')} END)")


def _positional(text: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """A statement with %(name)s parameters as one with %s parameters and their values in order (what a Django
    expression returns)."""
    values: list[Any] = []

    def take(match: re.Match) -> str:
        values.append(params[match.group(1)])
        return "%s"

    return re.sub(r"%\((\w+)\)s", take, text), values


class _StageAt(Func):
    """The member's stage valued at ``at`` (_stage_at_sql), as an expression over a Member queryset
    (``of="member"``) or an InterestScore one (``of="score"``). It reads the member's persona (a join, for a score
    row) only when a rule set has a half-life of its own. With ``among``: NULL, without valuing the row, for a
    member who cannot be in any of those stages (_stage_candidates_sql); one expression, not a second condition,
    so the planner's guess at how many rows pass (it cannot see into either) stays that of one condition."""

    output_field = CharField()
    COLUMNS = {"member": {"member": "interest__member_id", "persona": "persona", "engagement": "interest__engagement",
                          "ref_time": "interest__ref_time", "fit": "interest__fit"},
               "score": {"member": "member_id", "persona": "member__persona", "engagement": "engagement",
                         "ref_time": "ref_time", "fit": "fit"}}

    def __init__(self, *, config: ScoringConfig, at: datetime, of: str, among: Collection[str] | None = None):
        variants = [replace(config, split=None), *([config.split.config] if config.split else [])]
        persona = ["persona"] if any(_own_half_lives(variant) for variant in variants) else []
        self.reads = ("member", *persona, "engagement", "ref_time", "fit")
        super().__init__(*(F(self.COLUMNS[of][name]) for name in self.reads))
        self.config, self.at, self.of = config, at, of
        self.among = None if among is None else tuple(sorted(set(among)))

    @cached_property
    def identity(self) -> tuple:  # Django's, built from the arguments, would hash the configuration's dicts
        return self.__class__, id(self.config), self.at, self.of, self.among

    def as_sql(self, compiler, connection, **extra_context):
        columns = {"persona": "NULL"}  # not read: no rule set has a half-life of its own
        for name, expression in zip(self.reads, self.get_source_expressions()):
            columns[name], column_params = compiler.compile(expression)
            assert not column_params, "columns only"
        params: dict[str, Any] = {"now": self.at}
        text = _stage_at_sql(self.config, params, **columns)
        if self.among is not None:
            candidate = _stage_candidates_sql(self.config, params, self.among, engagement=columns["engagement"],
                                              fit=columns["fit"])
            text = f"(CASE WHEN {candidate} THEN {text} END)"
        return _positional(text, params)


def _split_params(config: ScoringConfig) -> dict[str, Any]:
    """The parameters _IN_B reads: a running experiment's split (without one, no member is in B)."""
    split = config.split
    return {"x_first": split.first_member_id if split is not None else 2**63 - 1,
            "x_id": split.experiment_id if split is not None else 0,
            "x_cut": split_cut(split.share) if split is not None else 0, "x_buckets": BUCKETS}


def _plan(config: ScoringConfig) -> _Plan:
    global _plan_cached
    if _plan_cached is not None and _plan_cached[0] is config:
        return _plan_cached[1]
    split = config.split
    variants = [(False, config), *([(True, split.config)] if split is not None else [])]
    sets = [(v, rk, rules) for v, c in variants for rk, rules in {"": c.default, **c.personas}.items()]
    rule_rows = [(v, rk, t, r.points, r.target_points, r.daily_cap, r.once_only)
                 for v, rk, rules in sets for t, r in rules.rules.items()]
    columns = list(zip(*rule_rows)) if rule_rows else [[]] * 7
    params: dict[str, Any] = {
        "pk_v": pg_array([v for v, _, _ in sets]), "pk": pg_array([rk for _, rk, _ in sets]),
        "hl": pg_array([rules.half_life_days for _, _, rules in sets]),
        "floor": config.floor_stage, "version": config.version, "inactivity": INACTIVITY, **_split_params(config),
        **{name: pg_array(list(col)) for name, col in zip(
            ("ru_v", "ru_rk", "ru_t", "ru_pts", "ru_tpts", "ru_cap", "ru_once"), columns)},
    }
    apply_sql = _compose(_APPLY_TEMPLATE, stage=sql.SQL(_stage_sql(config, params)))
    plan = _Plan(params, apply_sql)
    _plan_cached = (config, plan)
    return plan



@dataclass(slots=True)
class _MemberSpec:
    email: str | None = None
    name: str | None = None
    persona: str | None = None
    attributes: dict[str, Any] | None = None
    crm_id: str | None = None
    verified: bool | None = None  # of the email given with it (None: no email given)
    joined_at: datetime | None = None  # the source's word on when the account was created (replaces ours)

    def merge(self, member: Any) -> None:
        if member.joined_at is not None:
            self.joined_at = member.joined_at
        if member.email:
            self.email = member.email
            self.verified = bool(member.email_verified)
        if member.crm_id is not None:
            self.crm_id = member.crm_id
        if member.name is not None:
            self.name = member.name
        persona = event_persona(member)
        if persona is not None:
            self.persona = persona
        if member.attributes:
            self.attributes = {**(self.attributes or {}), **member.attributes}


@dataclass(slots=True)
class _ContentSpec:
    author: tuple[str, str] | None = None
    topic: str | None = None
    kind: str | None = None
    title: str | None = None

    def merge(self, content: Any, author: tuple[str, str] | None) -> None:
        if author is not None:
            self.author = author
        for name in ("topic", "kind", "title"):
            value = getattr(content, name)
            if value:
                setattr(self, name, value)




# Key probes: the upserts below find a batch's stored members and contents by their (source, external id) keys one
# index probe each, in a LATERAL subquery the planner cannot turn into a join (LIMIT 1; the keys are unique). As a
# plain join, PostgreSQL hashed the whole table for a few hundred keys at tens of thousands of rows (it prices
# index probes as disk reads): measured at 21k members and 39k contents, 9-11 -> 6 ms and 2.3-3.3 -> 2.3 ms of
# PostgreSQL CPU per batch of 200 events, and the scan grows with the community.
# Members in one statement: the batch's keys with what the events say (NULL: not said), the stored rows they
# match, the missing ones inserted in key order, and per key its id and whether its persona, its attributes or
# anything else it stores changes. The changes are written later (_MEMBERS_UPDATE_SQL), just before
# the batch's score rows are locked: an updated row stays locked until commit, and a concurrent batch naming the
# same member waits that long (updating here, first thing, made two concurrent batches run one after the other:
# measured; see _events_write).
# A key inserted by a concurrent batch after this statement's snapshot gets no id here (its insert is skipped
# as a conflict); the caller runs the statement again for it.
_MEMBERS_UPSERT_SQL = """
WITH v(source, external_id, email, name, persona, attrs, crm_id, verified, joined_at) AS (
    SELECT * FROM unnest(%(source)s::varchar[], %(external_id)s::varchar[], %(email)s::varchar[], %(name)s::varchar[],
                         %(persona)s::varchar[], %(attrs)s::jsonb[], %(crm_id)s::varchar[], %(verified)s::bool[],
                         %(joined_at)s::timestamptz[])),
old AS (
    SELECT m.id, v.source, v.external_id, COALESCE(m.merged_into_id, m.id) AS person,
           COALESCE((v.email <> '' AND v.email <> m.email) OR (v.name IS NOT NULL AND v.name <> m.display_name)
                    OR v.joined_at <> m.joined_at, false) AS named,
           COALESCE((v.crm_id <> '' AND v.crm_id <> m.crm_id)
                    OR (v.verified AND (NOT m.email_verified OR v.email <> m.email)), false) AS keyed,
           COALESCE(v.crm_id <> m.crm_id OR v.verified <> m.email_verified, false) AS keys_changed,
           v.persona IS NOT NULL AND v.persona <> m.persona AS persona_changed,
           v.attrs IS NOT NULL AND m.attributes || v.attrs <> m.attributes AS attrs_changed
    FROM v CROSS JOIN LATERAL (  -- one probe of the unique index per key (see above)
        SELECT * FROM {member} m WHERE m.source = v.source AND m.external_id = v.external_id LIMIT 1) m),
ins AS (
    INSERT INTO {member} (source, external_id, email, email_verified, display_name, crm_id, persona, attributes,
                          joined_at, is_excluded, created_at, updated_at)
    SELECT v.source, v.external_id, COALESCE(v.email, ''), COALESCE(v.verified, false), COALESCE(v.name, ''),
           COALESCE(v.crm_id, ''), COALESCE(v.persona, ''), COALESCE(v.attrs, jsonb_build_object()),
           COALESCE(v.joined_at, %(now)s::timestamptz), false, %(now)s::timestamptz, %(now)s::timestamptz
    FROM v WHERE NOT EXISTS (SELECT 1 FROM old WHERE old.source = v.source AND old.external_id = v.external_id)
    ORDER BY v.source, v.external_id
    ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id, email_verified, crm_id)
SELECT id, source, external_id, id, false, false, false, crm_id <> '' OR email_verified FROM ins
UNION ALL
SELECT id, source, external_id, person, persona_changed, attrs_changed AND NOT persona_changed,
       named OR keys_changed OR persona_changed OR attrs_changed, keyed
FROM old
"""

_MEMBERS_UPDATE_SQL = """
WITH locked AS (  -- in member-id order, whatever order the update visits them in: no lock-order deadlocks
    SELECT id FROM {member} WHERE id = ANY(%(id)s::bigint[]) ORDER BY id FOR NO KEY UPDATE)
UPDATE {member} m SET email = COALESCE(NULLIF(v.email, ''), m.email), display_name = COALESCE(v.name, m.display_name),
                   email_verified = COALESCE(v.verified, m.email_verified), crm_id = COALESCE(v.crm_id, m.crm_id),
                   joined_at = COALESCE(v.joined_at, m.joined_at),
                   persona = COALESCE(v.persona, m.persona),
                   attributes = CASE WHEN v.attrs IS NULL THEN m.attributes ELSE m.attributes || v.attrs END,
                   updated_at = %(now)s::timestamptz
FROM unnest(%(id)s::bigint[], %(email)s::varchar[], %(name)s::varchar[], %(persona)s::varchar[], %(attrs)s::jsonb[],
            %(crm_id)s::varchar[], %(verified)s::bool[], %(joined_at)s::timestamptz[])
     AS v(id, email, name, persona, attrs, crm_id, verified, joined_at)
WHERE m.id = v.id AND m.id IN (SELECT id FROM locked)
"""

# Contents likewise; `author` is a member id. Returns each content's author and topic as stored before this
# batch (NULL, '' for the ones it inserts), which the caller needs to replay the batch's events in order.
_CONTENTS_UPSERT_SQL = """
WITH v(source, external_id, author, author_identity, kind, topic, title) AS (
    SELECT * FROM unnest(%(source)s::varchar[], %(external_id)s::varchar[], %(author)s::bigint[],
                         %(author_identity)s::bigint[], %(kind)s::varchar[], %(topic)s::varchar[], %(title)s::varchar[])),
old AS (
    SELECT c.id, v.source, v.external_id, c.author_id AS old_author, c.topic AS old_topic,
           c.author_identity_id AS old_author_identity,
           COALESCE(v.author, c.author_id) AS author,
           CASE WHEN v.author IS NULL THEN c.author_identity_id ELSE v.author_identity END AS author_identity,
           COALESCE(v.kind, c.kind) AS kind, COALESCE(v.topic, c.topic) AS topic, COALESCE(v.title, c.title) AS title,
           (v.author IS NOT NULL AND (v.author IS DISTINCT FROM c.author_id
                                      OR v.author_identity IS DISTINCT FROM c.author_identity_id))
           OR (v.kind IS NOT NULL AND v.kind <> c.kind)
           OR (v.topic IS NOT NULL AND v.topic <> c.topic) OR (v.title IS NOT NULL AND v.title <> c.title) AS changed
    FROM v CROSS JOIN LATERAL (  -- one probe of the unique index per key (see above)
        SELECT * FROM {content} c WHERE c.source = v.source AND c.external_id = v.external_id LIMIT 1) c),
ins AS (
    INSERT INTO {content} (source, external_id, author_id, author_identity_id, kind, topic, title, created_at)
    SELECT v.source, v.external_id, v.author, v.author_identity, COALESCE(v.kind, ''), COALESCE(v.topic, ''),
           COALESCE(v.title, ''), %(now)s::timestamptz
    FROM v WHERE NOT EXISTS (SELECT 1 FROM old WHERE old.source = v.source AND old.external_id = v.external_id)
    ORDER BY v.source, v.external_id
    ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id),
upd AS (
    UPDATE {content} c SET author_id = o.author, author_identity_id = o.author_identity, kind = o.kind,
                           topic = o.topic, title = o.title
    FROM old o WHERE c.id = o.id AND o.changed)
SELECT id, source, external_id, NULL::bigint, '', NULL::bigint FROM ins
UNION ALL
SELECT id, source, external_id, old_author, old_topic, old_author_identity FROM old
"""



@dataclass(slots=True)
class _MembersUpserted:
    ids: dict[tuple[str, str], int]  # key -> the member (person) it belongs to
    identities: dict[tuple[str, str], int]  # key -> its own row, where it differs from ids[key] (merged identities)
    keyed: set[int]  # identities with a crm_id or verified email, new or changed: to link (services.identity)
    persona_changed: set[int]  # existing members whose persona changed: their rule set changed
    attributes_changed: set[int]  # existing members whose attributes (only) changed: their fit may have
    changed: dict[int, tuple[str, str]]  # member id -> key, for the members whose fields change (not yet written)


def _execute_arrays(template: str, columns: dict[str, list], now: datetime) -> list[tuple]:
    """Run a statement with each column as one array parameter (bulk.pg_array) and `now`; returns its rows."""
    with connection.cursor() as cursor:
        sized_execute(cursor, _statement(template), {**{name: pg_array(values) for name, values in columns.items()}, "now": now},
                      rows=len(next(iter(columns.values()))))
        return cursor.fetchall() if cursor.description else []


def _upsert(template: str, keys: list[tuple[str, str]], fields: dict[str, Callable[[tuple[str, str]], Any]],
            now: datetime) -> dict[tuple[str, str], tuple]:
    """Run an upsert statement (_MEMBERS_UPSERT_SQL, _CONTENTS_UPSERT_SQL) for these keys, with `fields` giving
    each key's other columns; returns {key: (id, *the statement's other columns)}. A key raced by a concurrent
    insert (no row back) is looked up again on the next round."""
    found: dict[tuple[str, str], tuple] = {}
    pending = sorted(keys)
    for _ in range(3):
        columns = {"source": [key[0] for key in pending], "external_id": [key[1] for key in pending],
                   **{name: [value_of(key) for key in pending] for name, value_of in fields.items()}}
        for pk, source, external_id, *rest in _execute_arrays(template, columns, now):
            found[(source, external_id)] = (pk, *rest)
        pending = [key for key in pending if key not in found]
        if not pending:
            return found
    raise RuntimeError(f"{pending[:5]} could be neither inserted nor found")


def _members_upsert(specs: dict[tuple[str, str], _MemberSpec], *, now: datetime) -> _MembersUpserted:
    """Member ids for every key, inserting the missing; which ones change and how (see _MEMBERS_UPSERT_SQL)."""
    rows = _upsert(_MEMBERS_UPSERT_SQL, list(specs), {
        "email": lambda key: specs[key].email or None, "name": lambda key: specs[key].name,
        "persona": lambda key: specs[key].persona,
        "attrs": lambda key: json.dumps(specs[key].attributes) if specs[key].attributes else None,
        "crm_id": lambda key: specs[key].crm_id, "verified": lambda key: specs[key].verified,
        "joined_at": lambda key: specs[key].joined_at,
    }, now)
    upserted = _MembersUpserted({}, {}, set(), set(), set(), {})
    for key, (pk, person, persona_changed, attributes_changed, changed, keyed) in rows.items():
        upserted.ids[key] = person
        if person != pk:
            upserted.identities[key] = pk
        if keyed:
            upserted.keyed.add(pk)
        if changed:
            upserted.changed[pk] = key
        if person != pk:
            continue  # a merged identity's persona and attributes are its own: the member's are the person's row
        if persona_changed:
            upserted.persona_changed.add(pk)
        if attributes_changed:
            upserted.attributes_changed.add(pk)
    return upserted


def _members_update(upserted: _MembersUpserted, specs: dict[tuple[str, str], _MemberSpec], *, now: datetime) -> None:
    """Write what the batch says of the members whose fields change (see _MEMBERS_UPDATE_SQL), merged into their
    rows as they are now (a concurrent batch's changes are kept)."""
    if not upserted.changed:
        return
    ids = sorted(upserted.changed)
    given = [specs[upserted.changed[pk]] for pk in ids]
    columns = {"id": ids, "email": [spec.email or None for spec in given], "name": [spec.name for spec in given],
               "persona": [spec.persona for spec in given],
               "attrs": [json.dumps(spec.attributes) if spec.attributes else None for spec in given],
               "crm_id": [spec.crm_id for spec in given], "verified": [spec.verified for spec in given],
               "joined_at": [spec.joined_at for spec in given]}
    _execute_arrays(_MEMBERS_UPDATE_SQL, columns, now)


def _contents_upsert(specs: dict[tuple[str, str], _ContentSpec], members: _MembersUpserted, *,
                     now: datetime) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], list]]:
    """Insert the missing contents and update the changed; returns ({key: id}, {key: [author id, topic, author
    identity] as they were before this batch}) so each event can see the content as it stood when that event
    happened."""
    rows = _upsert(_CONTENTS_UPSERT_SQL, list(specs), {
        "author": lambda key: members.ids[specs[key].author] if specs[key].author else None,
        "author_identity": lambda key: members.identities.get(specs[key].author) if specs[key].author else None,
        "kind": lambda key: specs[key].kind, "topic": lambda key: specs[key].topic,
        "title": lambda key: specs[key].title,
    }, now)
    return {key: row[0] for key, row in rows.items()}, {key: [row[1], row[2], row[3]] for key, row in rows.items()}


_ACTION_FIELDS = ["member", "action_type", "occurred_at", "target_member", "target_content", "topic", "text",
                  "metadata", "source", "external_event_id", "recorded_at", "identity", "target_identity"]
assert {"id", *(Action._meta.get_field(name).attname for name in _ACTION_FIELDS)} == {
    f.attname for f in Action._meta.concrete_fields}, "an Action field is not written"


def _specs(accepted: list[tuple[int, Any]]) -> tuple[dict[tuple[str, str], _MemberSpec],
                                                     dict[tuple[str, str], _ContentSpec]]:
    """What the batch's events say of each member and content they name, merged in event order."""
    member_specs: dict[tuple[str, str], _MemberSpec] = {}
    content_specs: dict[tuple[str, str], _ContentSpec] = {}
    for _, event in accepted:
        source = event.source
        member_specs.setdefault((source, event.member.external_id), _MemberSpec()).merge(event.member)
        if event.target_member is not None:
            member_specs.setdefault((source, event.target_member.external_id), _MemberSpec())
        if event.target_content is not None:
            tc = event.target_content
            author = (source, tc.author_external_id) if tc.author_external_id else None
            if author is not None:
                member_specs.setdefault(author, _MemberSpec())
            content_specs.setdefault((source, tc.external_id), _ContentSpec()).merge(tc, author)
        if event.content is not None:
            content_specs.setdefault((source, event.content.external_id), _ContentSpec()).merge(
                event.content, (source, event.member.external_id))
    return member_specs, content_specs


def _events_write(store: InterestStore, accepted: list[tuple[int, Any]], *, now: datetime) -> StoredBatch:
    """PostgresInterestStore.events_write: see the module docstring."""
    member_specs, content_specs = _specs(accepted)
    # The members and contents the batch names first, in a transaction of their own: a row a transaction inserts
    # stays locked until it commits, and a concurrent batch naming the same new member or content would wait for
    # this whole batch (measured: two concurrent batches ran one after the other). That commit does not wait
    # for the WAL flush; the batch's own commit below flushes it, and a crash in between loses only rows no
    # action refers to yet. Their changed fields are written in the batch's transaction (_members_update).
    with transaction.atomic():
        commit_without_flush()
        upserted = _members_upsert(member_specs, now=now)
        member_ids, identities = upserted.ids, upserted.identities
        content_ids, state = _contents_upsert(content_specs, upserted, now=now) if content_specs else ({}, {})

    with transaction.atomic():
        if getattr(settings, "INGEST_ASYNC_COMMIT", False):  # opt-in: see settings.base
            commit_without_flush()

        # Walk the batch in order, as the one-by-one path would: an event sees each content's author and topic
        # as given by the events before it (and itself), over what was stored before the batch.
        rows = []
        for i, event in accepted:
            source = event.source
            actor = (source, event.member.external_id)
            member_id, identity = member_ids[actor], identities.get(actor)
            tc = event.target_content
            target = state[(source, tc.external_id)] if tc else None
            if tc is not None:
                if tc.author_external_id:
                    author = (source, tc.author_external_id)
                    target[0], target[2] = member_ids[author], identities.get(author)
                if tc.topic:
                    target[1] = tc.topic
            made = state[(source, event.content.external_id)] if event.content else None
            if made is not None:
                made[0], made[2] = member_id, identity
                if event.content.topic:
                    made[1] = event.content.topic
            if event.target_member is not None:
                named = (source, event.target_member.external_id)
                target_member, target_identity = member_ids[named], identities.get(named)
            else:
                target_member, target_identity = (target[0], target[2]) if target is not None else (None, None)
            topic = (target[1] if target else "") or (made[1] if made else "") or ""
            rows.append((member_id, event.type, event.occurred_at, target_member,
                         content_ids[(source, tc.external_id)] if tc else None, topic, event.text or "",
                         event_metadata(event), source, event.event_id, now, identity, target_identity))
        # In key order: two batches inserting the same new event ids in different orders would each hold a key
        # of the unique index the other waits for (a deadlock); in one order, the second just waits.
        inserted = rows_upsert(Action, columns=_ACTION_FIELDS, rows=sorted(rows, key=lambda row: (row[8], row[9])),
                               conflict=["source", "external_event_id"], returning=["id", "source", "external_event_id"])
        new_ids = {(source, event_id): pk for pk, source, event_id in inserted}
        batch = StoredBatch(persona_changed=upserted.persona_changed, attributes_changed=upserted.attributes_changed,
                            keyed=upserted.keyed)
        for (i, event), row in zip(accepted, rows):
            pk = new_ids.get((event.source, event.event_id))
            if pk is not None:
                batch.created[i] = pk
                batch.actors.add(row[0])
        # The members' changes are written last: a concurrent batch naming the same members waits for this
        # one's commit from here on.
        _members_update(upserted, member_specs, now=now)
        # Queued in this transaction: scored after its commit, by one scorer per partition at a time
        # (services.interest_queue), with the members whose attributes or persona this batch changed.
        store.batch_queue(batch)
    return batch



# The oldest rows of a partition, picked once: as an IN (subquery), PostgreSQL may plan a nested-loop semi join
# that rescans the LIMIT per row, and each rescan skips the rows this statement already deleted, taking them all.
_CLAIM_SQL = """
WITH picked AS MATERIALIZED (
    SELECT id FROM {pending} WHERE partition = %s AND error = '' ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
DELETE FROM {pending} p USING picked WHERE p.id = picked.id
RETURNING p.id, p.partitions, ARRAY(SELECT jsonb_array_elements_text(p.action_ids)::bigint),
          ARRAY(SELECT jsonb_array_elements_text(p.refit)::bigint),
          ARRAY(SELECT jsonb_array_elements_text(p.rescore)::bigint)
"""
# The partitions whose scorer lock is free right now (taken and let go at once; CASE keeps the order).
_PENDING_IDS_SQL = "SELECT jsonb_array_elements_text(action_ids)::bigint FROM {pending} WHERE {match}"  # set aside too
_ACTION_TYPES_SQL = "SELECT key FROM {action_type}"
_IDLE_SQL = """
SELECT k FROM generate_series(0, %(n)s - 1) k
WHERE CASE WHEN pg_try_advisory_lock(%(lock)s + k) THEN pg_advisory_unlock(%(lock)s + k) ELSE false END
"""



class PostgresInterestStore(InterestStore):
    name = "postgresql"

    # --- partitions and the scoring queue ---

    def scorer_partitions(self) -> int:
        return max(1, settings.INTEREST_SCORERS)

    def partitions_idle(self, count: int) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(_IDLE_SQL, {"n": count, "lock": SCORER_LOCK})
            return [row[0] for row in cursor.fetchall()]

    def partition_hold(self, partition: int, *, wait: bool) -> bool:
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCORER_LOCK + partition])
                return True
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SCORER_LOCK + partition])
            return cursor.fetchone()[0]

    @contextmanager
    def job_hold(self, kind: int, job_id: int) -> Iterator[bool]:
        # A session-level advisory lock: it outlives the job's own transactions (a recompute commits per chunk) and
        # PostgreSQL drops it with the session when the process dies. Keys: (kind, id mod 2**31).
        key = [kind, job_id % 2**31]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            held = cursor.fetchone()[0]
        try:
            yield held
        finally:
            if held:
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
                except DatabaseError:  # the session is gone, and its lock with it
                    pass

    def pending_take(self, partition: int, *, limit: int) -> list[Claimed]:
        with connection.cursor() as cursor:
            cursor.execute(_statement(_CLAIM_SQL), [partition, limit])
            return [Claimed(*row) for row in sorted(cursor.fetchall())]

    def pending_action_ids(self, partitions: dict[int, int]) -> RawSQL:
        pairs = [value for item in sorted(partitions.items()) for value in item]
        match = " OR ".join(["(partitions = %s AND partition = %s)"] * len(partitions))
        return RawSQL(_statement(_PENDING_IDS_SQL.replace("{match}", match)), pairs)

    def commit_without_flush(self) -> None:
        commit_without_flush()

    # --- events ---

    def action_types_known(self) -> frozenset[str]:
        with connection.cursor() as cursor:  # prepared (see bulk.sized_execute): it runs for every batch
            sized_execute(cursor, _statement(_ACTION_TYPES_SQL), [], rows=1)
            return frozenset(row[0] for row in cursor.fetchall())

    def events_write(self, accepted: list[tuple[int, Any]], *, now: datetime) -> StoredBatch:
        return _events_write(self, accepted, now=now)

    # --- scoring ---

    def rank_keys_refresh(self, member_ids: Sequence[int], *, config: ScoringConfig, at: datetime) -> int:
        ids = sorted(member_ids)
        if not ids:
            return 0
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_statement(_REKEY_SQL), {**_plan(config).params, "ids": pg_array(ids), "now": at})
            return cursor.rowcount

    # --- reads valued at one instant ---

    def members_in_stages(self, members: QuerySet[Member], stages: Collection[str], *, config: ScoringConfig,
                          at: datetime) -> QuerySet[Member]:
        # A member without a score row is in no stage. Saying so lets PostgreSQL join the score rows as an inner
        # join and filter them before it reads the members' rows: a page of 66k visitors by engagement at 100k
        # members took 190 ms filtered after a left join, 85 ms so. ``among``: rows that cannot be in these stages
        # are not valued (most rows, for a high stage).
        return (members.filter(interest__isnull=False)
                .alias(stage_at=_StageAt(config=config, at=at, of="member", among=stages))
                .filter(stage_at__in=list(stages)))

    def scores_per_stage(self, scores: QuerySet[InterestScore], *, config: ScoringConfig,
                         at: datetime) -> dict[str, int]:
        rows = (scores.annotate(stage_at=_StageAt(config=config, at=at, of="score")).order_by().values("stage_at")
                .annotate(n=Count("pk")).values_list("stage_at", "n"))
        return dict(rows)

    def interest_apply(self, action_ids: Sequence[int], *, config: ScoringConfig, refit: Iterable[int] = (),
                       partition: tuple[int, int] = (0, 1)) -> Applied:
        if not action_ids:
            return Applied()
        plan = _plan(config)
        now = timezone.now()
        ordered = sorted(action_ids)
        ids = pg_array(ordered)
        part = {"part_k": partition[0], "part_n": partition[1], "id_lo": ordered[0], "id_hi": ordered[-1]}
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            # Small batches (single events above all) run prepared: see bulk.sized_execute.
            sized_execute(cursor, _statement(_OWNERS_SQL), {**plan.params, **part, "ids": ids, "now": now},
                          rows=len(ordered))
            owners, inserted = cursor.fetchone()
            if not owners:
                return Applied()
            owners_literal = pg_array(owners)
            sized_execute(cursor, _statement(_LOCK_SQL), {"version": config.version, "owners": owners_literal},
                          rows=len(ordered))
            stale = set(cursor.fetchone()[0] or ())
            stale.update(inserted or ())
            stale.update(set(refit).intersection(owners))
            facts = self.members_facts(sorted(stale)) if stale else {}
            fits = [rules_for(config, f).fit(f.attributes, f.persona) for f in facts.values()]
            sized_execute(cursor, plan.apply_sql, {**plan.params, **part, "ids": ids, "owners": owners_literal,
                                                   "now": now, "fit_ids": pg_array(list(facts)),
                                                   "fit_vals": pg_array(fits)}, rows=len(ordered))
            rows = cursor.fetchall()
        return Applied([StageChange(m, external_id, email or "", old, new, e, fit, "action", at)
                        for m, old, new, at, e, fit, external_id, email in rows], frozenset(owners))
