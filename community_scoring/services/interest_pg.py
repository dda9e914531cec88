"""interest_apply on PostgreSQL: the same accounting as services.interest, computed inside the database.

The Python implementation (services.interest) reads every touched bucket, topic and score row into Python,
does the arithmetic there and writes them back as arrays: for a batch of 1,000 actions that is ~2,000 rows of
each kind crossing the wire twice, and most of the batch's CPU (measured: 250 ms of Python per 1,000 events).
Here the rows never leave PostgreSQL. Per batch, whatever its size, three statements:

1. ``_OWNERS_SQL``: who the batch scores (every actor, and every target whose rule gives target points under
   their own rule set), inserting their missing InterestScore rows in member-id order;
2. ``_LOCK_SQL``: SELECT ... FOR UPDATE of those rows in member-id order (the same two-step, one-direction
   locking as services.interest.scores_lock, so concurrent batches serialise per member without deadlocks),
   returning the rows whose fit must be re-evaluated (new rows, rows scored under an older configuration);
3. the apply statement (``_apply_sql``): bucket upsert (caps, once-only credit moving to an earlier day),
   per-bucket deltas, topic interest with decay, primary topic, engagement with decay, fit, stage, last
   activity, the score update and the StageTransition rows, as data-modifying CTEs of one statement. It returns
   the stage changes, which Python announces as ``stage_changed`` webhooks.

Fit is a Python function of member attributes (scoring.fit): it is evaluated here, in Python, only for the
rows that need it (new score rows, rows of an older config version, members whose attributes or persona the
caller just changed: ``refit``); every other row keeps its stored fit, which the paths that change attributes
or the configuration keep current.

Decay: a running value is stored as (value, ref) (see scoring.decay). Folding deltas d_i earned at w_i into it
gives ref' = max(ref, w_i...) and value' = value * f(ref' - ref) + sum(d_i * f(ref' - w_i)), f(x) = 2^(-x/h):
the closed form of applying scoring.decay.accumulate in any order (equal up to float rounding).

Persona matching follows scoring.ruleset.persona_key (trimmed, case-insensitive), with PostgreSQL's lower() for
Python's casefold() (they differ only for a few non-ASCII letters such as 'ß').
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from community_scoring.bulk import pg_array, sized_execute
from community_scoring.models import Action, InterestBucket, InterestScore, InterestTopic, Member, StageTransition
from community_scoring.scoring.ruleset import ScoringConfig
from community_scoring.services.config import scoring_config_current
from community_scoring.services.interest import INACTIVITY, members_facts, stage_changes_announce

_T = {
    "action": Action._meta.db_table, "member": Member._meta.db_table, "score": InterestScore._meta.db_table,
    "bucket": InterestBucket._meta.db_table, "topic": InterestTopic._meta.db_table,
    "transition": StageTransition._meta.db_table,
}
_PERSONA_KEY = "lower(btrim({col}, E' \\t\\n\\r\\x0b\\x0c'))"

# The batch's actions. The id range lets the planner use the primary key whatever its statistics say: without them
# (a table never analyzed, e.g. autovacuum off) it scanned the whole action log for each statement (measured:
# 44 ms for 4,000 ids among 313,000 actions, 3.5 ms by the index).
_ACTIONS_BY_ID = "id = ANY(%(ids)s::bigint[]) AND id BETWEEN %(id_lo)s::bigint AND %(id_hi)s::bigint"

# The configuration as tables: rule sets (persona key, half-life) and their rules (persona sets already merged
# over the default set, as in scoring.ruleset).
_CONFIG_CTES = """
pk(rk, hl) AS (SELECT * FROM unnest(%(pk)s::text[], %(hl)s::float8[])),
ru(rk, t, pts, tpts, cap, once) AS (
    SELECT * FROM unnest(%(ru_rk)s::text[], %(ru_t)s::text[], %(ru_pts)s::float8[], %(ru_tpts)s::float8[],
                         %(ru_cap)s::float8[], %(ru_once)s::bool[]))
"""

_OWNERS_SQL = f"""
WITH {_CONFIG_CTES},
act AS (SELECT member_id, target_member_id, action_type_id FROM {_T['action']} WHERE {_ACTIONS_BY_ID}),
tgt AS (SELECT DISTINCT target_member_id AS m, action_type_id AS t FROM act
        WHERE target_member_id IS NOT NULL AND target_member_id <> member_id),
owners AS (  -- of this partition (member id modulo the partitions: see services.interest_queue)
    SELECT member_id AS m FROM act WHERE member_id %% %(part_n)s::int = %(part_k)s::int
    UNION
    SELECT tgt.m FROM tgt
    JOIN {_T['member']} mm ON mm.id = tgt.m
    LEFT JOIN pk ON pk.rk = {_PERSONA_KEY.format(col='mm.persona')}
    JOIN ru ON ru.rk = COALESCE(pk.rk, '') AND ru.t = tgt.t
    WHERE ru.tpts <> 0 AND tgt.m %% %(part_n)s::int = %(part_k)s::int),
ins AS (
    INSERT INTO {_T['score']} (member_id, engagement, fit, score, stage, primary_topic, config_version, updated_at)
    SELECT m, 0, 0, 0, %(floor)s::varchar, '', 0, %(now)s::timestamptz FROM owners ORDER BY m
    ON CONFLICT (member_id) DO NOTHING RETURNING member_id)
SELECT (SELECT array_agg(m ORDER BY m) FROM owners), (SELECT array_agg(member_id) FROM ins)
"""

_LOCK_SQL = f"""
SELECT array_agg(member_id) FILTER (WHERE config_version <> %(version)s::int) FROM (
    SELECT member_id, config_version FROM {_T['score']} WHERE member_id = ANY(%(owners)s::bigint[])
    ORDER BY member_id FOR UPDATE) locked
"""


def _decay(x: str, hl: str) -> str:
    """SQL for 2^(-x/hl), 1 without a half-life (scoring.decay.decay_factor)."""
    return f"(CASE WHEN {hl} IS NULL THEN 1.0::float8 ELSE power(2.0::float8, -({x}) / {hl}) END)"


def _clamp(x: str, cap: str) -> str:
    """SQL for scoring.caps.cap_clamp."""
    return f"(CASE WHEN {cap} IS NULL THEN {x} ELSE greatest(-{cap}, least({cap}, {x})) END)"


_EPOCH_DAYS = "(extract(epoch FROM {col})::float8 / 86400.0)"

_APPLY_TEMPLATE = f"""
WITH {_CONFIG_CTES},
fits(m, f) AS (SELECT * FROM unnest(%(fit_ids)s::bigint[], %(fit_vals)s::float8[])),
act AS (
    SELECT member_id, target_member_id, action_type_id AS t, occurred_at, topic,
           (occurred_at AT TIME ZONE 'UTC')::date AS d
    FROM {_T['action']} WHERE {_ACTIONS_BY_ID}),
own AS (  -- each owner's rule set and half-life
    SELECT m.id AS m, COALESCE(pk.rk, '') AS rk, CASE WHEN pk.rk IS NULL THEN %(default_hl)s::float8 ELSE pk.hl END AS hl
    FROM {_T['member']} m LEFT JOIN pk ON pk.rk = {_PERSONA_KEY.format(col='m.persona')} AND pk.rk <> ''
    WHERE m.id = ANY(%(owners)s::bigint[])),
sides AS (  -- acting on yourself earns nothing; this partition's owners only
    SELECT member_id AS o, t, false AS r, d, topic, occurred_at FROM act
    WHERE (target_member_id IS NULL OR target_member_id <> member_id)
      AND member_id %% %(part_n)s::int = %(part_k)s::int
    UNION ALL
    SELECT target_member_id, t, true, d, topic, occurred_at FROM act
    WHERE target_member_id <> member_id AND target_member_id %% %(part_n)s::int = %(part_k)s::int),
ruled AS (
    SELECT s.* FROM sides s JOIN own ON own.m = s.o LEFT JOIN ru ON ru.rk = own.rk AND ru.t = s.t
    WHERE NOT s.r OR COALESCE(ru.tpts, 0) <> 0),
bt AS (SELECT o, t, r, d, topic, count(*)::int AS n FROM ruled GROUP BY o, t, r, d, topic),
adds AS (
    SELECT b.o, b.t, b.r, b.d, sum(b.n)::int AS n,
           COALESCE(jsonb_object_agg(b.topic, b.n) FILTER (WHERE b.topic <> ''), '{{}}'::jsonb) AS tc,
           COALESCE(CASE WHEN b.r THEN max(ru.tpts) ELSE max(ru.pts) END, 0) AS unit, max(ru.cap) AS cap,
           COALESCE(bool_or(ru.once), false) AS once
    FROM bt b JOIN own ON own.m = b.o LEFT JOIN ru ON ru.rk = own.rk AND ru.t = b.t
    GROUP BY b.o, b.t, b.r, b.d),
series AS (SELECT DISTINCT o, t, r, unit, cap FROM adds WHERE once),
sold AS (  -- every stored bucket of a once-only series the batch touches: the credit may move to an earlier day
    SELECT b.member_id AS o, b.action_type_id AS t, b.received AS r, b.day AS d, b.count, b.raw_points, b.points,
           b.topic_counts, s.unit, s.cap
    FROM {_T['bucket']} b JOIN series s ON b.member_id = s.o AND b.action_type_id = s.t AND b.received = s.r),
firsts AS (
    SELECT o, t, r, min(d) AS fd FROM (
        SELECT o, t, r, d FROM sold WHERE count > 0 UNION ALL SELECT o, t, r, d FROM adds WHERE once) x
    GROUP BY o, t, r),
cand AS (
    SELECT k.o, k.t, k.r, k.d, COALESCE(ob.count, 0) + k.n AS count, COALESCE(ob.count, 0) AS old_count,
           COALESCE(ob.raw_points, 0) + k.n * k.unit AS raw_points, COALESCE(ob.points, 0) AS old_points,
           COALESCE(ob.topic_counts, '{{}}'::jsonb) AS old_tc,
           CASE WHEN ob.topic_counts IS NULL OR ob.topic_counts = '{{}}'::jsonb THEN k.tc ELSE (
               SELECT jsonb_object_agg(e.key, e.n) FROM (
                   SELECT key, sum(value::int) AS n FROM (
                       SELECT * FROM jsonb_each_text(ob.topic_counts) UNION ALL SELECT * FROM jsonb_each_text(k.tc)) u
                   GROUP BY key) e) END AS tc,
           k.unit, k.cap, k.once, true AS added
    FROM adds k LEFT JOIN LATERAL (  -- the stored bucket: one index probe per key, whatever the estimates
        SELECT b.count, b.raw_points, b.points, b.topic_counts FROM {_T['bucket']} b
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
    INSERT INTO {_T['bucket']} (member_id, action_type_id, received, day, count, raw_points, points, topic_counts)
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
    LEFT JOIN (SELECT member_id, topic, points, {_EPOCH_DAYS.format(col='ref_time')} AS ref FROM {_T['topic']}
               WHERE member_id = ANY(%(owners)s::bigint[])) st ON st.member_id = m.o AND st.topic = m.topic),
tnew AS (
    SELECT r.o, r.topic, r.nref,
           COALESCE(r.ov * {_decay('r.nref - r.oref', 'r.hl')}, 0.0) + sum(td.delta * {_decay('r.nref - td.w', 'r.hl')}) AS v
    FROM tref r JOIN td ON td.o = r.o AND td.topic = r.topic
    GROUP BY r.o, r.topic, r.nref, r.ov, r.oref, r.hl),
tw AS (
    INSERT INTO {_T['topic']} (member_id, topic, points, ref_time)
    SELECT o, topic, v, to_timestamp(nref * 86400.0) FROM tnew ORDER BY o, topic
    ON CONFLICT (member_id, topic) DO UPDATE SET points = EXCLUDED.points, ref_time = EXCLUDED.ref_time),
alltop AS (  -- every topic of the owners whose topics changed, as they stand after this batch
    SELECT o, topic, v, nref AS ref FROM tnew
    UNION ALL
    SELECT s.member_id, s.topic, s.points, {_EPOCH_DAYS.format(col='s.ref_time')} FROM {_T['topic']} s
    WHERE s.member_id IN (SELECT o FROM tnew)
      AND NOT EXISTS (SELECT 1 FROM tnew n WHERE n.o = s.member_id AND n.topic = s.topic)),
valued_topics AS (
    SELECT a.o, a.topic, a.v * {_decay('max(a.ref) OVER (PARTITION BY a.o) - a.ref', 'own.hl')} AS value
    FROM alltop a JOIN own ON own.m = a.o),
pt AS (  -- scoring.ledger.primary_topic: the most positive value, ties by name
    SELECT DISTINCT ON (o) o, topic FROM valued_topics WHERE value > 0 ORDER BY o, value DESC, topic COLLATE "C"),
sc AS (
    SELECT s.member_id AS o, s.engagement, s.ref_time, {_EPOCH_DAYS.format(col='s.ref_time')} AS ref, s.fit, s.stage,
           s.primary_topic, s.last_activity_at, own.hl
    FROM {_T['score']} s JOIN own ON own.m = s.member_id),
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
           COALESCE(NULLIF(sc.stage, ''), %(floor)s::varchar) AS old_stage, lt.at
    FROM sc LEFT JOIN eref er ON er.o = sc.o LEFT JOIN esum es ON es.o = sc.o LEFT JOIN fits ON fits.m = sc.o
    LEFT JOIN pt ON pt.o = sc.o LEFT JOIN la ON la.o = sc.o LEFT JOIN lt ON lt.o = sc.o),
staged AS (SELECT fin.*, {{stage}} AS stage FROM fin),
up AS (
    UPDATE {_T['score']} s SET engagement = f.e, ref_time = f.ref_time, fit = f.fit, score = f.e + f.fit,
        stage = f.stage, primary_topic = f.pt, last_activity_at = f.la, config_version = %(version)s::int,
        updated_at = %(now)s::timestamptz
    FROM staged f WHERE s.member_id = f.o AND s.member_id = ANY(%(owners)s::bigint[])),
tr AS (
    INSERT INTO {_T['transition']} (member_id, from_stage, to_stage, occurred_at, engagement, fit, reason)
    SELECT o, old_stage, stage, at, e, fit, 'action' FROM staged WHERE stage <> old_stage ORDER BY o)
SELECT f.o, f.old_stage, f.stage, f.at, f.e, f.fit, m.external_id, m.email
FROM staged f JOIN {_T['member']} m ON m.id = f.o
WHERE f.stage <> f.old_stage AND m.id = ANY(%(owners)s::bigint[]) ORDER BY f.o
"""


@dataclass(frozen=True)
class _Plan:
    """A configuration as statement parameters and the apply statement's text (built once per configuration)."""

    params: dict[str, Any]
    apply_sql: str  # the stage CASE varies with the configuration


_plan_cached: tuple[ScoringConfig, _Plan] | None = None  # the current configuration's


def _stage_sql(config: ScoringConfig, params: dict[str, Any]) -> str:
    """scoring.stages.stage_for as a CASE over fin.e and fin.fit."""
    stages = sorted(config.stages, key=lambda s: s.position)
    if not stages:
        return "''::varchar"
    whens = []
    for i, stage in reversed(list(enumerate(stages))[1:]):
        params.update({f"st{i}_name": stage.name, f"st{i}_e": stage.min_engagement, f"st{i}_f": stage.min_fit})
        whens.append(f"WHEN fin.e >= %(st{i}_e)s::float8 AND fin.fit >= %(st{i}_f)s::float8 THEN %(st{i}_name)s::varchar")
    params["st0_name"] = stages[0].name
    if not whens:
        return "%(st0_name)s::varchar"
    return f"CASE {' '.join(whens)} ELSE %(st0_name)s::varchar END"


def _plan(config: ScoringConfig) -> _Plan:
    global _plan_cached
    if _plan_cached is not None and _plan_cached[0] is config:
        return _plan_cached[1]
    sets = {"": config.default, **config.personas}
    rule_rows = [(rk, t, r.points, r.target_points, r.daily_cap, r.once_only)
                 for rk, rules in sets.items() for t, r in rules.rules.items()]
    columns = list(zip(*rule_rows)) if rule_rows else [[]] * 6
    params: dict[str, Any] = {
        "pk": pg_array(list(sets)), "hl": pg_array([rules.half_life_days for rules in sets.values()]),
        "default_hl": config.default.half_life_days, "floor": config.floor_stage, "version": config.version,
        "inactivity": INACTIVITY,
        **{name: pg_array(list(col)) for name, col in zip(("ru_rk", "ru_t", "ru_pts", "ru_tpts", "ru_cap", "ru_once"),
                                                        columns)},
    }
    apply_sql = _APPLY_TEMPLATE.replace("{stage}", _stage_sql(config, params))
    plan = _Plan(params, apply_sql)
    _plan_cached = (config, plan)
    return plan


def _fits(member_ids: Sequence[int], config: ScoringConfig) -> tuple[list[int], list[float]]:
    """Fit of these members from their attributes (scoring.fit, in Python)."""
    facts = members_facts(member_ids) if member_ids else {}
    return list(facts), [config.for_persona(f.persona).fit(f.attributes, f.persona) for f in facts.values()]


def interest_apply_ids(action_ids: Collection[int], *, refit: Iterable[int] = (),
                       partition: tuple[int, int] = (0, 1)) -> list[tuple]:
    """Score newly created actions (by id) on PostgreSQL; returns the stage changes as
    (member id, from, to, at, engagement, fit, external id, email) rows, already stored and announced.

    Each action must be counted once: pass only actions the caller just created, in the caller's transaction.
    ``refit``: members whose attributes or persona the caller changed (their fit is re-evaluated if scored here).
    ``partition`` (k, n): score only for members whose id % n == k (services.interest_queue); the default, all.
    """
    if not action_ids:
        return []
    config = scoring_config_current()
    plan = _plan(config)
    now = timezone.now()
    ordered = sorted(action_ids)
    ids = pg_array(ordered)
    part = {"part_k": partition[0], "part_n": partition[1], "id_lo": ordered[0], "id_hi": ordered[-1]}
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Small batches (single events above all) run prepared: see bulk.sized_execute.
        sized_execute(cursor, _OWNERS_SQL, {**plan.params, **part, "ids": ids, "now": now}, rows=len(action_ids))
        owners, inserted = cursor.fetchone()
        if not owners:
            return []
        owners_literal = pg_array(owners)
        sized_execute(cursor, _LOCK_SQL, {"version": config.version, "owners": owners_literal}, rows=len(action_ids))
        stale = set(cursor.fetchone()[0] or ())
        stale.update(inserted or ())
        refit = set(refit)
        if refit:
            stale.update(refit.intersection(owners))
        fit_ids, fit_vals = _fits(sorted(stale), config)
        sized_execute(cursor, plan.apply_sql, {**plan.params, **part, "ids": ids, "owners": owners_literal, "now": now,
                                        "fit_ids": pg_array(fit_ids), "fit_vals": pg_array(fit_vals)},
                      rows=len(action_ids))
        changes = cursor.fetchall()
    if changes:
        stage_changes_announce([(m, external_id, email or "", old, new, e, fit, "action", at)
                                for m, old, new, at, e, fit, external_id, email in changes])
    return changes
