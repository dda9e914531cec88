#!/usr/bin/env python
"""Time of each piece of issue 14 (outcomes, quality report, calibration, replay, experiments, gaming) at 100k members.

    .venv/bin/python bench/outcomes.py                    # builds cs_bench_outcomes on first use (minutes), then times
    .venv/bin/python bench/outcomes.py --members 10000    # a smaller community, its own database
    .venv/bin/python bench/outcomes.py --rebuild          # build the database again
    .venv/bin/python bench/outcomes.py --skip calibration_hl,replay_capacity   # leave out slow rows

The database (cs_bench_outcomes, or cs_bench_outcomes_<members>) is created, migrated and filled in SQL the way
bench/pages.py does it (its helpers: generate_series, INSERT ... SELECT, secondary indexes dropped while loading):
- members whose ids follow their joining: 40% joined before the history, the others over its 180 days
  (created_at = joined_at, so a live experiment's participants are the ones who joined after its start); every
  member has an email and a crm_id;
- ~20 actions per member over 180 days (25% never act, the others log-normal), of bench/pages.py's types, votes,
  comments, answers, reads, shares and follows aimed at a popular member; a few planted vote rings of young
  accounts and vote bursts for the gaming scan;
- outcomes for ~5% of members: each member's chance of converting rises with a hidden weighting of their actions
  (HIDDEN); a converted member (value "trial") goes on to sales_accepted or sales_rejected, opportunity, won or lost;
- interest: the production full recompute (services.recompute.interest_recompute, timed as a build step), then a
  stage history (a transition each week the stage, valued from the stored buckets, changed), the sales stages
  (outcomes.services.sales_stages), and a live experiment (outcomes.experiments.experiment_start, MQL threshold
  40 in B) moved to the middle of the history, its B members recomputed under B.
The built database is kept (its shape and the migrations it was built with are its comment) and reused.

Measuring (in this process, settings.dev with DEBUG off): each piece once, with the time of its main steps (the
functions it calls, wrapped while it runs) and a peer where one exists. Pieces that write (intake, gaming scan) run
in a transaction rolled back at the end, so the database stays as built and runs compare; the work an
on-commit hook would queue (webhooks, the influence run a gaming scan asks for) is therefore not timed.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import (  # noqa: E402  bench/pages.py's loader and its community's shape
    PERSONAS, TITLES, TOPICS, INDUSTRIES, TYPES, IndexesDeferred, _fill, _sql_list, _step, database_reuse_or_migrate,
    django_env,
    migrations_digest, psql,
)

BUILD_VERSION = 1  # bump when the generated data changes shape
DAYS = 180
ACTIONS_PER_MEMBER = 20
CONVERTING = 0.05  # share of members with outcomes
SEED = 0.1414
TARGETED = ("read", "vote_up", "vote_down", "comment", "answer", "share", "solved", "follow")
# The hidden rule: a member's conversion signal is the sum of these over their actions (answers and questions say
# far more than reads); P(convert) = sigmoid(b + 1.5 ln(1 + signal)), b set so that CONVERTING of members convert.
HIDDEN = {"answer": 1.0, "question": 0.8, "blog_post": 0.6, "poll_response": 0.6, "comment": 0.4, "solved": 0.4,
          "share": 0.3, "follow": 0.25, "vote_up": 0.1, "login": 0.05, "read": 0.02, "vote_down": -0.1}
RING_SIZE = 6
INTAKE_BATCHES, INTAKE_BATCH = 10, 1000


def db_name(members: int) -> str:
    return "cs_bench_outcomes" if members == 100_000 else f"cs_bench_outcomes_{members}"


def shape_key(members: int) -> str:
    return (f"bench/outcomes.py v{BUILD_VERSION} members={members} actions/member={ACTIONS_PER_MEMBER} days={DAYS}"
            f" migrations={migrations_digest()}")


# --- building -----------------------------------------------------------------------------------------------

def build_sql(db: str, members: int) -> None:
    """Members, actions (with planted rings and bursts) and outcomes, in SQL."""
    import psycopg2

    conn = psycopg2.connect(f"{os.environ.get('BENCH_PG', 'postgres://postgres@127.0.0.1:5432')}/{db}")
    cur = conn.cursor()
    cur.execute("SET synchronous_commit = off; SET work_mem = '256MB'; SET maintenance_work_mem = '1GB'")
    cur.execute("SELECT setseed(%s)", [SEED])
    n = int(members)
    old = int(n * 0.4)
    rings = max(2, n // 5000)
    ring_first = n - rings * RING_SIZE + 1  # the newest accounts are the rings' sock puppets
    with IndexesDeferred(cur, ["community_scoring_member", "community_scoring_action", "outcomes_outcome"]):
        names, literals = _fill(cur, "community_scoring_member", [
            "id", "source", "external_id", "email", "display_name", "crm_id", "persona", "attributes", "joined_at",
            "is_excluded", "created_at", "updated_at", "email_verified", "merged_into_id", "user_id"])
        # Ids follow joining: 1..old joined 1-3 years before the history, the rest evenly over its DAYS days.
        _step(cur, "members", f"""
            INSERT INTO community_scoring_member (id, source, external_id, email, display_name, crm_id, persona,
                attributes, joined_at, is_excluded, created_at, updated_at, email_verified{names})
            SELECT i, 'bench', 'u' || i, 'member' || i || '@example.com', 'Member ' || i, 'crm-' || i,
                   {_sql_list(PERSONAS)}[1 + floor(random() * {len(PERSONAS)})::int],
                   jsonb_build_object('job_title', {_sql_list(TITLES)}[1 + floor(random() * {len(TITLES)})::int],
                                      'company_size', (ARRAY[5, 20, 80, 250, 1000, 5000])[1 + floor(random() * 6)::int],
                                      'industry', {_sql_list(INDUSTRIES)}[1 + floor(random() * {len(INDUSTRIES)})::int]),
                   j, i % 500 = 0, j, j, true{literals}
            FROM generate_series(1, {n}) i
            CROSS JOIN LATERAL (SELECT CASE WHEN i <= {old}
                THEN now() - interval '{DAYS} days' - interval '2 years' * (1 - i::float / {old}) - interval '1 year'
                ELSE now() - interval '{DAYS} days' + interval '{DAYS} days' * ((i - {old})::float / {n - old})
                     - interval '1 hour' END AS j) jj""")
        cur.execute("SELECT setval(pg_get_serial_sequence('community_scoring_member', 'id'), %s)", [n])
        # Activity: 25% never act (and the rings' accounts act only inside their ring); the others log-normal.
        cur.execute(f"""
            CREATE TEMP TABLE bench_activity AS
            WITH w AS (
                SELECT id AS member_id, greatest(joined_at, now() - interval '{DAYS} days') AS since,
                       CASE WHEN random() < 0.25 OR id >= {ring_first} THEN 0
                            ELSE exp(1.2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) END AS w
                FROM community_scoring_member)
            SELECT member_id, since, floor(w * {n * ACTIONS_PER_MEMBER} / sum(w) OVER () + random())::bigint AS n
            FROM w""")
        cur.execute("""CREATE TEMP TABLE bench_popular AS
            SELECT row_number() OVER (ORDER BY n * (0.5 + random()) DESC, member_id) - 1 AS pos, member_id
            FROM bench_activity WHERE n > 0""")
        cur.execute("SELECT count(*) FROM bench_popular")
        popular = cur.fetchone()[0]
        cases, low = [], 0.0
        for kind, share in TYPES:
            low += share
            cases.append(f"WHEN r < {low:.4f} THEN '{kind}'")
        type_case = "CASE " + " ".join(cases) + f" ELSE '{TYPES[0][0]}' END"
        names, literals = _fill(cur, "community_scoring_action", [
            "id", "member_id", "action_type_id", "occurred_at", "target_member_id", "target_content_id", "topic",
            "text", "metadata", "source", "external_event_id", "recorded_at", "identity_id", "target_identity_id"])
        columns = ("member_id, action_type_id, occurred_at, target_member_id, topic, text, metadata, source,"
                   f" external_event_id, recorded_at{names}")
        _step(cur, "actions", f"""
            INSERT INTO community_scoring_action ({columns})
            SELECT x.member_id, x.kind, x.at, CASE WHEN x.kind IN {TARGETED} THEN p.member_id END,
                   CASE WHEN x.kind IN {TARGETED} OR x.kind IN ('question', 'blog_post') THEN x.topic ELSE '' END,
                   '', CASE WHEN x.kind = 'poll_response' THEN '{{"rating": 4}}' ELSE '{{}}' END::jsonb,
                   'bench', 'e' || x.member_id || '-' || x.g, x.at + interval '2 seconds'{literals}
            FROM (
                SELECT a.member_id, g, {type_case} AS kind,
                       a.since + (now() - interval '1 minute' - a.since) * random() AS at,
                       {_sql_list(TOPICS)}[1 + floor(random() * {len(TOPICS)})::int] AS topic,
                       floor({popular} * power(random(), 2))::bigint AS followed
                FROM bench_activity a CROSS JOIN LATERAL generate_series(1, a.n) g
                CROSS JOIN LATERAL (SELECT random() AS r OFFSET 0 * g) rr
                WHERE a.n > 0) x
            JOIN bench_popular p ON p.pos = x.followed
            WHERE p.member_id <> x.member_id""")
        # Vote rings: RING_SIZE young accounts each, every ordered pair voting 1-2 times (follows too) in the last
        # 10 days. Bursts: an older member voting 12 times for one author within 40 minutes.
        _step(cur, "planted vote rings", f"""
            INSERT INTO community_scoring_action ({columns})
            SELECT a, CASE WHEN k = 1 AND random() < 0.5 THEN 'follow' ELSE 'vote_up' END,
                   now() - interval '10 days' * random(), b, 'api', '', '{{}}', 'bench',
                   'ring-' || a || '-' || b || '-' || k, now(){literals}
            FROM generate_series(0, {rings - 1}) r
            CROSS JOIN LATERAL generate_series(0, {RING_SIZE - 1}) i CROSS JOIN LATERAL generate_series(0, {RING_SIZE - 1}) j
            CROSS JOIN LATERAL (SELECT {ring_first} + r * {RING_SIZE} + i AS a, {ring_first} + r * {RING_SIZE} + j AS b) ab
            CROSS JOIN LATERAL generate_series(1, 1 + (random() < 0.5)::int) k
            WHERE i <> j""")
        _step(cur, "planted vote bursts", f"""
            INSERT INTO community_scoring_action ({columns})
            SELECT actor, 'vote_up', t0 + interval '40 minutes' * random(), target, 'api', '', '{{}}', 'bench',
                   'burst-' || b || '-' || k, now(){literals}
            FROM (SELECT b, 1 + floor(random() * {old})::bigint AS actor, 1 + floor(random() * {old})::bigint AS target,
                         now() - interval '20 days' * random() - interval '1 hour' AS t0
                  FROM generate_series(1, {max(2, n // 10000)}) b) x
            CROSS JOIN LATERAL generate_series(1, 12) k WHERE actor <> target""")
        # Outcomes: the hidden signal of each member, the intercept that makes CONVERTING of them convert.
        cur.execute("CREATE TEMP TABLE bench_hidden (kind text PRIMARY KEY, w float)")
        cur.executemany("INSERT INTO bench_hidden VALUES (%s, %s)", list(HIDDEN.items()))
        cur.execute("""
            CREATE TEMP TABLE bench_signal AS
            SELECT a.member_id, greatest(sum(h.w), 0) AS s,
                   (array_agg(a.occurred_at ORDER BY random()))[1] AS pick
            FROM community_scoring_action a JOIN bench_hidden h ON h.kind = a.action_type_id
            WHERE a.external_event_id LIKE 'e%' GROUP BY 1""")
        cur.execute("SELECT s FROM bench_signal")
        signal = np.log1p(np.array([row[0] for row in cur.fetchall()], dtype=float))
        low, high = -40.0, 10.0
        for _ in range(60):  # bisection: the expected number of converters, over all members, hits the share
            b = (low + high) / 2
            expected = (1 / (1 + np.exp(-(b + 1.5 * signal)))).sum()
            low, high = (b, high) if expected < CONVERTING * n else (low, b)
        names, literals = _fill(cur, "outcomes_outcome", [
            "id", "source", "outcome_id", "type", "occurred_at", "member_id", "identity_id", "reason", "value",
            "amount", "recorded_at", "recorded_by"])
        cur.execute(f"""
            CREATE TEMP TABLE bench_conv AS
            SELECT member_id, t0, t0 + interval '2 days' + interval '8 days' * random() AS t1,
                   random() AS u1, random() AS u2, random() AS u3, random() AS gap
            FROM (SELECT member_id, least(pick + interval '10 days' * random(), now() - interval '1 day') AS t0
                  FROM bench_signal WHERE random() < 1 / (1 + exp(-({b} + 1.5 * ln(1 + s))))) c""")
        cap = "least({}, now() - interval '1 hour')"
        _step(cur, "outcomes", f"""
            INSERT INTO outcomes_outcome (source, outcome_id, type, occurred_at, member_id, reason, value, amount,
                recorded_at, recorded_by{names})
            SELECT 'crm', kind || '-' || member_id, kind, at, member_id, reason, value, amount, now(), 'bench'{literals}
            FROM (
                SELECT member_id, 'converted' AS kind, t0 AS at, '' AS reason, 'trial' AS value, NULL::numeric AS amount
                FROM bench_conv
                UNION ALL
                SELECT member_id, CASE WHEN u1 < 0.6 THEN 'sales_accepted' ELSE 'sales_rejected' END, {cap.format('t1')},
                       CASE WHEN u1 < 0.6 THEN '' ELSE 'no budget this year' END, '', NULL FROM bench_conv WHERE u1 < 0.85
                UNION ALL
                SELECT member_id, 'opportunity', {cap.format("t1 + interval '5 days' + interval '15 days' * gap")}, '',
                       '', NULL FROM bench_conv WHERE u1 < 0.6 AND u2 < 0.5
                UNION ALL
                SELECT member_id, CASE WHEN u3 < 0.5 THEN 'won' ELSE 'lost' END,
                       {cap.format("t1 + interval '20 days' + interval '30 days' * gap")},
                       CASE WHEN u3 < 0.5 THEN '' ELSE 'chose a competitor' END,
                       CASE WHEN u3 < 0.5 THEN (1000 + floor(u2 * 20000))::text ELSE '' END,
                       CASE WHEN u3 < 0.5 THEN 1000 + floor(u2 * 20000) END
                FROM bench_conv WHERE u1 < 0.6 AND u2 < 0.5 AND u3 < 0.8) o""")
    conn.commit()
    conn.close()


def history_sql(db: str) -> None:
    """A stage history from the stored buckets: each member's stage at the start of every week of the history
    (decayed bucket points, today's fit), a transition each time it changed, then one to the stored stage."""
    import psycopg2

    conn = psycopg2.connect(f"{os.environ.get('BENCH_PG', 'postgres://postgres@127.0.0.1:5432')}/{db}")
    cur = conn.cursor()
    cur.execute("SET work_mem = '256MB'")
    cur.execute("SELECT name, min_engagement, min_fit FROM community_scoring_stage ORDER BY position DESC")
    stage_case = "CASE " + " ".join(f"WHEN w.e >= {e} AND s.fit >= {f} THEN '{name}'" for name, e, f in cur.fetchall())
    stage_case += " ELSE '' END"
    cur.execute("SELECT half_life_days FROM community_scoring_ruleset WHERE persona = ''")
    half_life = cur.fetchone()[0] or 1e9
    cur.execute("DELETE FROM community_scoring_stagetransition")
    _step(cur, "stage history (weekly)", f"""
        INSERT INTO community_scoring_stagetransition (member_id, from_stage, to_stage, occurred_at, engagement, fit,
            reason, detail)
        SELECT member_id, coalesce(previous, 'visitor'), stage, at, e, fit, 'action', ''
        FROM (SELECT member_id, at, e, fit, stage, lag(stage) OVER (PARTITION BY member_id ORDER BY at) AS previous
              FROM (SELECT w.member_id, w.at, w.e, s.fit, {stage_case} AS stage
                    FROM (SELECT b.member_id, d.at,
                                 greatest(sum(b.points * power(2, -(d.at::date - b.day) / {half_life}::float)), 0) AS e
                          FROM community_scoring_interestbucket b
                          JOIN (SELECT (current_date - {DAYS} + 7 * k) + time '04:00' AS at
                                FROM generate_series(1, {DAYS // 7}) k) d ON b.day < d.at::date
                          GROUP BY 1, 2) w
                    JOIN community_scoring_interestscore s USING (member_id)) x) y
        WHERE stage <> '' AND stage IS DISTINCT FROM coalesce(previous, 'visitor')""")
    _step(cur, "stage history (to the stored stage)", """
        INSERT INTO community_scoring_stagetransition (member_id, from_stage, to_stage, occurred_at, engagement, fit,
            reason, detail)
        SELECT s.member_id, coalesce(l.to_stage, 'visitor'), s.stage, now() - interval '1 hour', s.engagement, s.fit,
               'action', ''
        FROM community_scoring_interestscore s
        LEFT JOIN (SELECT DISTINCT ON (member_id) member_id, to_stage FROM community_scoring_stagetransition
                   ORDER BY member_id, occurred_at DESC) l USING (member_id)
        WHERE s.stage <> '' AND s.stage <> coalesce(l.to_stage, 'visitor')""")
    conn.commit()
    conn.close()


def build_django(members: int) -> None:
    """The production recompute, the sales stages, and a live experiment started in the middle of the history."""
    from django.db import connection
    from django.utils import timezone

    from community_scoring.models import Experiment, Member
    from community_scoring.outcomes.experiment_report import experiment_participants
    from community_scoring.outcomes.experiments import experiment_start
    from community_scoring.outcomes.models import Outcome
    from community_scoring.outcomes.services.replay import replay_variant_document
    from community_scoring.outcomes.services.sales_stages import sales_stages_refresh
    from community_scoring.scoring.split import B
    from community_scoring.services.recompute import interest_recompute

    t0 = time.perf_counter()
    result = interest_recompute()
    print(f"  interest_recompute (production, all members): {result.members:,} members, {result.actions:,} actions,"
          f" {time.perf_counter() - t0:.1f} s ({result.members / (time.perf_counter() - t0):,.0f} members/s)",
          flush=True)
    connection.close()
    history_sql(connection.settings_dict["NAME"])
    t0 = time.perf_counter()
    ids = sorted(set(Outcome.objects.values_list("member_id", flat=True)))
    for start in range(0, len(ids), 2000):
        sales_stages_refresh(member_ids=ids[start:start + 2000], reason=None)
    print(f"  sales stages of {len(ids):,} members: {time.perf_counter() - t0:.1f} s", flush=True)
    experiment = experiment_start(name="bench: MQL at 40", config_b=replay_variant_document(
        spec={"mql_min_engagement": 40}), share=0.5, note="bench/outcomes.py")
    middle = timezone.now() - timedelta(days=DAYS // 2)
    first = Member.objects.filter(created_at__lt=middle).order_by("-pk").values_list("pk", flat=True).first() or 0
    Experiment.objects.filter(pk=experiment.pk).update(started_at=middle, first_member_id=first)
    experiment.refresh_from_db()
    b_members = experiment_participants(experiment=experiment)[B]
    t0 = time.perf_counter()
    interest_recompute(member_ids=b_members, reason="experiment")
    print(f"  experiment {experiment.pk} from {middle:%Y-%m-%d}: {len(b_members):,} B members recomputed under B,"
          f" {time.perf_counter() - t0:.1f} s", flush=True)


def database_ready(members: int, rebuild: bool) -> str:
    db = db_name(members)
    key = shape_key(members)
    if database_reuse_or_migrate(db, key, rebuild):
        return db
    print(f"building {members:,} members, ~{members * ACTIONS_PER_MEMBER:,} actions over {DAYS} days ...", flush=True)
    t0 = time.perf_counter()
    build_sql(db, members)
    psql("VACUUM ANALYZE", db)
    build_django(members)
    print("  vacuum analyze ...", flush=True)
    psql("VACUUM ANALYZE", db)
    psql(f"COMMENT ON DATABASE \"{db}\" IS '{key}'")
    print(f"built {db} in {time.perf_counter() - t0:.0f} s", flush=True)
    return db


# --- measuring ------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def spans(module, names: list[str], into: dict):
    """Time (and keep the last answer of) these functions of ``module`` while the block runs."""
    originals = {name: vars(module).get(name, getattr(module, name)) for name in names}  # a classmethod as itself

    def wrapped(name, function):
        def call(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                answer = function(*args, **kwargs)
                into[f"{name}#answer"] = answer
                into.setdefault(f"{name}#calls", []).append((args, kwargs))
                return answer
            finally:
                into[name] = into.get(name, 0.0) + time.perf_counter() - t0
        return call

    for name in names:
        setattr(module, name, wrapped(name, getattr(module, name)))
    try:
        yield into
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


@contextlib.contextmanager
def rolled_back():
    """A transaction that is rolled back at the end: the piece writes, the database stays as built."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


ROWS: list[tuple[str, float | None, str, str]] = []


def row(label: str, seconds: float | None, rows: str = "", note: str = "") -> None:
    ROWS.append((label, seconds, rows, note))
    shown = "" if seconds is None else f"{seconds:9.2f}"
    print(f"  {label:<58} {shown:>9} {rows:>22}  {note}", flush=True)


def steps_note(found: dict, names: list[str]) -> str:
    return ", ".join(f"{n} {found[n]:.2f}" for n in names if n in found)


def per_second(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else ""


def bench_intake(now) -> None:
    from community_scoring.outcomes.models import Outcome
    from community_scoring.outcomes.services import intake
    from community_scoring.outcomes.services.intake import OutcomeIn, OutcomeMemberIn, outcomes_record
    from community_scoring.models import Member

    rng = random.Random(14)
    active = list(Member.objects.filter(actions__isnull=False, is_excluded=False).distinct().values_list("pk", flat=True))
    kinds = ["converted", "sales_accepted", "sales_rejected", "sql", "opportunity", "won", "lost"]
    batches = []
    for b in range(INTAKE_BATCHES):
        batch = []
        for k in range(INTAKE_BATCH):
            m, kind, key = rng.choice(active), rng.choice(kinds), rng.randrange(3)
            member = (OutcomeMemberIn(external_id=f"u{m}") if key == 0 else
                      OutcomeMemberIn(email=f"Member{m}@example.com") if key == 1 else OutcomeMemberIn(crm_id=f"crm-{m}"))
            batch.append(OutcomeIn(source="bench" if key == 0 else "crm", outcome_id=f"bench-intake-{b}-{k}", type=kind,
                                   occurred_at=now - timedelta(minutes=rng.randrange(1, 43_200)), member=member,
                                   reason="no budget" if kind in ("sales_rejected", "lost") else "",
                                   value="trial" if kind == "converted" else ""))
        batches.append(batch)
    with rolled_back():
        for label, expect in (("new", "created"), ("again (duplicates)", "duplicate")):
            times, statuses, found = [], {}, {}
            with spans(intake, ["_stored", "_insert", "sales_stages_refresh"], found), \
                    spans(intake._Identities, ["load"], found):
                for batch in batches:
                    t0 = time.perf_counter()
                    results = outcomes_record(outcomes=batch, recorded_by="bench", now=now)
                    times.append(time.perf_counter() - t0)
                    for r in results:
                        statuses[r.status] = statuses.get(r.status, 0) + 1
            total = sum(times)
            row(f"1. intake: {INTAKE_BATCHES} x {INTAKE_BATCH:,} outcomes, {label}", total,
                f"{sum(statuses.values()):,} ({per_second(sum(statuses.values()), total)})",
                f"batch p50 {statistics.median(times):.2f} s max {max(times):.2f} s; {statuses}; steps: "
                + steps_note(found, ["_stored", "load", "_insert", "sales_stages_refresh"]))
            assert statuses.get(expect) == INTAKE_BATCHES * INTAKE_BATCH, statuses
        # Peer: the same number of rows stored straight (members already resolved), one bulk_create a batch.
        t0 = time.perf_counter()
        for b in range(INTAKE_BATCHES):
            Outcome.objects.bulk_create([Outcome(source="peer", outcome_id=f"peer-{b}-{k}", type="converted",
                                                 occurred_at=now, member_id=rng.choice(active))
                                         for k in range(INTAKE_BATCH)])
        seconds = time.perf_counter() - t0
        row("   peer: Outcome.objects.bulk_create, same rows", seconds,
            f"{INTAKE_BATCHES * INTAKE_BATCH:,} ({per_second(INTAKE_BATCHES * INTAKE_BATCH, seconds)})",
            "no checks, no member resolution, no sales stages")


def bench_quality(now) -> None:
    from sklearn.metrics import roc_auc_score

    from community_scoring.outcomes import metrics
    from community_scoring.outcomes.services import quality

    found: dict = {}
    names = ["quality_population", "interest_values_at", "conversion_labels", "_mql_entries", "outcome_times",
             "outcome_counts"]
    t0 = time.perf_counter()
    with spans(quality, names, found):
        report = quality.quality_report(period_days=90, within_days=30, end=now)
    seconds = time.perf_counter() - t0
    row("2. quality_report(period_days=90, within_days=30)", seconds,
        f"{report['members']:,} members ({per_second(report['members'], seconds)})",
        f"converted {report['converted']:,}, AUC {report['auc']:.4f}, lift {report['top_decile_lift']:.2f}, "
        f"MQL precision {report['mql_precision']}, MQL->SQL {report['mql_to_sql_rate']}; steps: "
        + steps_note(found, names))
    values, labelled = found["interest_values_at#answer"], found["conversion_labels#answer"]
    population = [m for m in found["quality_population#answer"] if m in values]
    scores = np.array([values[m].score for m in population])
    labels = np.array([labelled[m] for m in population])
    t0 = time.perf_counter()
    ours = metrics.roc_auc(scores, labels)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = roc_auc_score(labels, scores)
    row("   peer: sklearn.metrics.roc_auc_score, same arrays", time.perf_counter() - t0, f"{len(scores):,} scores",
        f"sklearn AUC {theirs:.6f} vs report {report['auc']:.6f} (metrics.roc_auc {ours:.6f} in {ours_s:.4f} s);"
        f" {'equal' if abs(theirs - report['auc']) < 1e-9 else 'DIFFERENT'}")


def bench_calibration(now, fit_half_life: bool) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from community_scoring.outcomes.models import CalibrationRun
    from community_scoring.outcomes.services import calibration

    names = ["population_at", "conversion_labels", "interest_tallies_load", "feature_matrix", "half_life_score",
             "weights_fit", "_figures"]
    found: dict = {}
    run = CalibrationRun.objects.create(parameters={**calibration.DEFAULTS, "fit_half_life": fit_half_life,
                                                    "end": now.isoformat()})
    t0 = time.perf_counter()
    with spans(calibration, names, found):
        run = calibration.calibration_run(run_id=run.pk)
    seconds = time.perf_counter() - t0
    result = run.result or {}
    members = result.get("training", {}).get("members", 0) + result.get("evaluation", {}).get("members", 0)
    if run.status != CalibrationRun.Status.DONE:
        row(f"3. calibration_run, fit_half_life={fit_half_life}", seconds, "", f"status {run.status}: {run.error}")
        return
    cur, sug = result["current"], result["suggested"]
    row(f"3. calibration_run, fit_half_life={fit_half_life}", seconds,
        f"{members:,} member-rows ({per_second(members, seconds)})",
        f"held-out AUC current {cur['auc']:.4f} -> suggested {sug['auc']:.4f} (model {result['model']['eval_auc']:.4f}),"
        f" MQL precision {cur['mql_precision']} -> {sug['mql_precision']}, half-life {result['half_life_days']};"
        f" steps: " + steps_note(found, names))
    if not fit_half_life:
        (x, y), _ = found["weights_fit#calls"][-1]
        z = StandardScaler().fit_transform(x)
        t0 = time.perf_counter()
        LogisticRegression(C=1.0, max_iter=5000).fit(z, np.asarray(y, dtype=int))
        row("   peer: one sklearn LogisticRegression fit, same X, y", time.perf_counter() - t0,
            f"{x.shape[0]:,} x {x.shape[1]}",
            f"weights_fit (LogisticRegressionCV, {len(calibration.weights_fit.__globals__['C_GRID'])} C x 5 folds)"
            f" took {found['weights_fit']:.2f} s")
        order = [f"{w['action_type']}{'(r)' if w['side'] == 'received' else ''} {w['suggested_points']}"
                 for w in result["weights"]]
        print(f"      suggested points: {', '.join(order)}")


def bench_replay(now, capacity: bool) -> None:
    from community_scoring.outcomes.services import replay

    a = replay.replay_variant_document(spec={"mql_min_engagement": 50})
    b = replay.replay_variant_document(spec={"mql_min_engagement": 35})
    start, end = replay.replay_period(period_days=90, within_days=30, end=now)
    names = ["population_at", "first_conversions", "interest_tallies_load", "_engagement_days", "_variant_figures",
             "_capacity_threshold"]
    found: dict = {}
    t0 = time.perf_counter()
    with spans(replay, names, found):
        out = replay.config_replay(configs={"A": a, "B": b}, start=start, end=end, within_days=30,
                                   capacity_per_week=25 if capacity else None)
    seconds = time.perf_counter() - t0
    va, vb = out["variants"]["A"], out["variants"]["B"]
    label = "4. config_replay, MQL 50 vs 35, 90 days" + (", + capacity 25/week" if capacity else "")
    note = (f"A {va['mqls']:,} MQLs {va['converted']:,} converted, B {vb['mqls']:,} MQLs {vb['converted']:,} converted"
            + (f"; capacity threshold A {va['capacity_threshold'].get('mql_min_engagement')}" if capacity else ""))
    row(label, seconds, f"{out['members']:,} members ({per_second(out['members'], seconds)})",
        note + "; steps: " + steps_note(found, names))


def bench_experiment() -> None:
    from community_scoring.models import Experiment
    from community_scoring.outcomes import experiment_report as module

    experiment = Experiment.objects.filter(status=Experiment.Status.RUNNING).order_by("-pk").first()
    if experiment is None:
        row("5. experiment_report", None, "", "no running experiment in this database")
        return
    found: dict = {}
    t0 = time.perf_counter()
    with spans(module, ["experiment_participants", "first_conversions"], found):
        report = module.experiment_report(experiment=experiment)
    seconds = time.perf_counter() - t0
    va, vb = report["variants"]
    members = va["members"] + vb["members"]
    row("5. experiment_report (started mid-history, half in B)", seconds,
        f"{members:,} members ({per_second(members, seconds)})",
        f"A {va['members']:,} members {va['mqls']:,} MQLs {va['conversions']:,} conv, B {vb['members']:,} members "
        f"{vb['mqls']:,} MQLs {vb['conversions']:,} conv, B-A {report['difference']['b_minus_a']:.4f}; steps: "
        + steps_note(found, ["experiment_participants", "first_conversions"]))


def bench_gaming(now) -> None:
    from community_scoring.gaming import services

    names = ["gaming_edges", "account_births", "_scores_refresh"]
    found: dict = {}
    rings_found: dict = {}
    with rolled_back():
        t0 = time.perf_counter()
        with spans(services, names, found), spans(services.rings, ["rings_find", "bursts_find"], rings_found):
            result = services.gaming_scan(now=now, window_days=30)
        seconds = time.perf_counter() - t0
    row("6. gaming_scan(window_days=30)", seconds, f"{result.edges:,} edges ({per_second(result.edges, seconds)})",
        f"{result.rings} rings, {result.bursts} bursts, {result.actions_flagged:,} actions flagged; steps: "
        + steps_note({**found, **rings_found}, names[:2] + ["rings_find", "bursts_find", "_scores_refresh"]))


PIECES = ["intake", "quality", "calibration", "calibration_hl", "replay", "replay_capacity", "experiment", "gaming"]


def measure(skip: set[str]) -> None:
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from community_scoring.models import Member
    from community_scoring.outcomes.models import Outcome

    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'community_scoring_action'")
        actions = cur.fetchone()[0]
    outcomes = dict(Outcome.objects.values_list("type").annotate(n=Count("pk")).order_by("type"))
    print(f"\n{Member.objects.count():,} members, ~{actions:,} actions, outcomes {outcomes}")
    print(f"\n  {'piece':<58} {'seconds':>9} {'rows':>22}  figures; time of the main steps (s)")
    for piece, call in [("intake", lambda: bench_intake(now)), ("quality", lambda: bench_quality(now)),
                        ("calibration", lambda: bench_calibration(now, False)),
                        ("calibration_hl", lambda: bench_calibration(now, True)),
                        ("replay", lambda: bench_replay(now, False)),
                        ("replay_capacity", lambda: bench_replay(now, True)),
                        ("experiment", bench_experiment), ("gaming", lambda: bench_gaming(now))]:
        if piece in skip:
            print(f"  ({piece} skipped)")
            continue
        call()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--skip", default="", help=f"comma-separated pieces to leave out: {', '.join(PIECES)}")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if skip - set(PIECES):
        parser.error(f"unknown pieces: {', '.join(sorted(skip - set(PIECES)))}")
    os.environ.update(django_env(db_name(args.members)))
    import django

    django.setup()
    database_ready(args.members, args.rebuild)
    if not args.build_only:
        measure(skip)


if __name__ == "__main__":
    main()
