#!/usr/bin/env python
"""Server time of the community managers' pages at 100k members, 10M actions and 90 days of history.

    .venv/bin/python bench/pages.py                     # builds cs_bench_pages on first use (minutes), then measures
    .venv/bin/python bench/pages.py --requests 50       # requests per page (default 20, after 2 untimed ones)
    .venv/bin/python bench/pages.py --rebuild           # build the database again
    .venv/bin/python bench/pages.py --members 20000 --actions 2000000   # a smaller community, its own database
    .venv/bin/python bench/pages.py --db cs_mine        # build and measure in a database of your choosing

The database (cs_bench_pages, or cs_bench_pages_<members>_<actions> for other shapes) is created, migrated and
filled in SQL (generate_series, INSERT ... SELECT, secondary indexes dropped while loading and built after):
- members with personas, job titles and company sizes; 35% never act, the others' activity is log-normal (a few
  members do thousands of actions, most a few dozen); 2% carry a second, merged identity;
- the actions over 90 days (more recent days busier), on content whose popularity and authors are heavy-tailed;
  votes, comments, answers, reads and shares target the content's author, follows a popular member; comments
  and answers carry texts (with their sentiment rows), a few members mostly negative;
- interest buckets per member, type and day (rule points and daily caps of the default rule set), interest
  scores decayed from them with fit from the attributes and the stage from the stage table, interest topics;
- 90 daily ScoreSnapshots per scored member (each member's own growth curve, so stages and "rising" move) and the
  stage transitions they imply;
- 90 daily influence runs, the current one's InfluenceScore rows (centrality and reach from the inbound actions,
  sentiment from the texts, advocate/detractor flags from the influence parameters), its members' ten heaviest
  inbound edges (InfluenceEdge, with the same weights) and 90 days of InfluenceSnapshot with each day's ranks; a
  few finished interest recompute jobs.
Then community_scoring.services.community_days.community_days_refresh() when that module exists (the dashboard's
daily aggregates), and VACUUM ANALYZE. The built database is kept (its shape and the migrations it was built with
are written as its comment) and reused while they match.

Measuring: Django's test client in this process (settings.dev with DEBUG off: production code paths without
collectstatic), signed in as an admin, requests each page N times and reports the server time per page: p50 and
p95 in ms against the 200 ms target (issue 13), and the SQL queries of one request. A page answering 404 does not
exist yet and is skipped (said so); stand-ins from the API and the admin show the harness and the data at work.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import _missing_columns, psql  # bench/api.py's loader helpers

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
TARGET_MS = 200.0
BUILD_VERSION = 2  # bump when the generated data changes shape
DAYS = 90
SEED = 0.20261130
PERSONAS = ["developer", "marketer", "manager", "student", ""]
TOPICS = ["api", "sdk", "billing", "security", "ml", "ops", "mobile", "data", "auth", "search"]
FIRST = ["Ada", "Ben", "Chen", "Dana", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jun", "Kemal", "Lena", "Maya",
         "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wei", "Yara", "Zoe"]
LAST = ["Abe", "Berg", "Costa", "Diaz", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski",
        "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi", "Singh", "Tanaka", "Varga", "Weber"]
TITLES = ["Software Engineer", "Engineering Manager", "Student", "Product Manager", "Founder", "Data Scientist",
          "Marketing Manager", "DevOps Engineer"]
INDUSTRIES = ["software", "saas", "fintech", "retail", "education", "health"]
# (action type, share of all actions); the cumulative shares pick a type per action.
TYPES = [("read", 0.38), ("vote_up", 0.24), ("comment", 0.11), ("answer", 0.05), ("question", 0.04),
         ("follow", 0.04), ("share", 0.04), ("vote_down", 0.02), ("poll_response", 0.02), ("login", 0.04),
         ("blog_post", 0.01), ("solved", 0.01)]
TARGETS_CONTENT = ("read", "vote_up", "vote_down", "comment", "answer", "share", "solved")
TEXTS = [  # (text, VADER-like compound)
    ("Thanks, the cursor parameter fixed it. Great docs!", 0.86),
    ("This worked perfectly, really helpful answer.", 0.77),
    ("Love the new SDK release, upgrade was painless.", 0.64),
    ("Nice write-up, I learned something today.", 0.42),
    ("You can set the page size in the request, see the reference.", 0.0),
    ("Which version are you on? The flag moved in 2.3.", 0.0),
    ("I had the same question last week.", 0.0),
    ("Still failing for me after the update.", -0.36),
    ("The billing page is confusing and support never answered.", -0.53),
    ("This is broken again, terrible experience, I want a refund.", -0.82),
]


def db_name(members: int, actions: int) -> str:
    if (members, actions) == (100_000, 10_000_000):
        return "cs_bench_pages"
    return f"cs_bench_pages_{members}_{actions}"


def django_env(db: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "settings.dev",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"{PG}/{db}",
        "DATABASE_CONN_MAX_AGE": "600",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "API_THROTTLE_RATE": "10000000/min",
        "LOG_LEVEL": "WARNING",
    }


def migrations_digest() -> str:
    """A short digest of the migration files on disk: a built database is reused only while they are the same."""
    migrations = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("**/migrations/0*.py") if ".venv" not in p.parts)
    return hashlib.sha256("\n".join(migrations).encode()).hexdigest()[:12]


def shape_key(members: int, actions: int) -> str:
    """What the database was built with: the shape, the generator's version and the migrations on disk."""
    return (f"bench/pages.py v{BUILD_VERSION} members={members} actions={actions} days={DAYS}"
            f" migrations={migrations_digest()}")


# --- building -----------------------------------------------------------------------------------------------

def _sql_list(values) -> str:
    return "(ARRAY[" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + "])"


class IndexesDeferred:
    """Drop the secondary indexes, unique and foreign-key constraints of the given tables; put them back after
    (building an index once over the loaded rows is several times faster than maintaining it per row)."""

    def __init__(self, cur, tables: list[str]):
        self.cur, self.tables = cur, tables

    def __enter__(self):
        cur = self.cur
        cur.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " WHERE c.contype IN ('u', 'f') AND (c.conrelid::regclass::text = ANY(%s)"
            " OR c.confrelid::regclass::text = ANY(%s)) ORDER BY c.contype", [self.tables, self.tables])
        self.constraints = cur.fetchall()
        for table, name, _ in self.constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT IF EXISTS "{name}"')
        cur.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary", [self.tables])
        self.indexes = cur.fetchall()
        for name, _ in self.indexes:
            cur.execute(f"DROP INDEX IF EXISTS {name}")
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        cur = self.cur
        t0 = time.perf_counter()
        for _, definition in self.indexes:
            # A partitioned table's index reads "ON ONLY <table>": so created it stays invalid, built on no
            # partition, and every query of it scans and sorts (the influence boards read a run's rows so). Without
            # ONLY it is built on every partition, as the influence store builds a run's partition in production.
            cur.execute(definition.replace(" ON ONLY ", " ON ", 1))
        # Foreign keys were dropped first ('f' < 'u'): put unique constraints back first, the keys after.
        for table, name, definition in reversed(self.constraints):
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        print(f"  indexes and constraints rebuilt: {time.perf_counter() - t0:.1f} s", flush=True)
        return False


def _fill(cur, table: str, columns: list[str]) -> tuple[str, str]:
    """Column list and select-list suffix for NOT NULL columns later migrations add (neutral values)."""
    extra, values = _missing_columns(cur, table, columns)
    names = "".join(f", {name}" for name in extra)
    literals = "".join(f", '{value}'" for value in values)
    return names, literals


def _step(cur, label: str, sql: str) -> None:
    """Run one statement (no parameters: numbers are formatted in, so `%` is SQL's modulo and LIKE's wildcard)."""
    t0 = time.perf_counter()
    cur.execute(sql)
    print(f"  {label}: {cur.rowcount:,} rows, {time.perf_counter() - t0:.1f} s", flush=True)


def build(db: str, members: int, actions: int) -> None:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/{db}")
    conn.autocommit = False
    cur = conn.cursor()
    cur.execute("SET synchronous_commit = off; SET work_mem = '256MB'; SET maintenance_work_mem = '1GB';"
                " SET max_parallel_maintenance_workers = 2")
    cur.execute("SELECT setseed(%s)", [SEED])
    cur.execute("SELECT name, min_engagement, min_fit FROM community_scoring_stage ORDER BY position DESC")
    stages = cur.fetchall()
    stage_case = lambda e, f: "CASE " + " ".join(  # the stage of an engagement and a fit, in SQL
        f"WHEN {e} >= {min_e} AND {f} >= {min_f} THEN '{name}'" for name, min_e, min_f in stages) + " ELSE '' END"
    cur.execute("SELECT half_life_days FROM community_scoring_ruleset WHERE persona = ''")
    half_life = cur.fetchone()[0]
    from community_scoring.influence.models import InfluenceConfig

    params = InfluenceConfig.objects.first() or InfluenceConfig()  # the saved parameters, or the defaults
    adv_min, adv_sent = params.advocate_min_influence, params.advocate_min_sentiment
    det_min, det_sent, min_texts = params.detractor_min_influence, params.detractor_max_sentiment, params.min_texts
    big = ["community_scoring_member", "community_scoring_action", "community_scoring_content",
           "influence_textsentiment", "community_scoring_interestbucket", "community_scoring_interestscore",
           "community_scoring_interesttopic", "community_scoring_scoresnapshot", "community_scoring_stagetransition",
           "influence_influencescore", "influence_influencesnapshot"]
    t_all = time.perf_counter()
    with IndexesDeferred(cur, big):
        names, literals = _fill(cur, "community_scoring_member", [
            "id", "source", "external_id", "email", "display_name", "crm_id", "persona", "attributes", "joined_at",
            "is_excluded", "created_at", "updated_at", "email_verified", "merged_into_id", "user_id"])
        _step(cur, "members", f"""
            INSERT INTO community_scoring_member (id, source, external_id, email, display_name, crm_id, persona,
                attributes, joined_at, is_excluded, created_at, updated_at, email_verified{names})
            SELECT i, 'bench', 'u' || i, lower(f) || '.' || lower(l) || i || '@example.com', f || ' ' || l,
                   CASE WHEN i % 5 = 0 THEN 'crm-' || i ELSE '' END,
                   {_sql_list(PERSONAS)}[1 + floor(random() * {len(PERSONAS)})::int],
                   jsonb_build_object('job_title', {_sql_list(TITLES)}[1 + floor(random() * {len(TITLES)})::int],
                                      'company_size', (ARRAY[5, 20, 80, 250, 1000, 5000])[1 + floor(random() * 6)::int],
                                      'industry', {_sql_list(INDUSTRIES)}[1 + floor(random() * {len(INDUSTRIES)})::int]),
                   now() - interval '3 years' * random() - interval '1 day', i % 250 = 0, now(), now(), true{literals}
            FROM (SELECT i, {_sql_list(FIRST)}[1 + floor(random() * {len(FIRST)})::int] AS f,
                         {_sql_list(LAST)}[1 + floor(random() * {len(LAST)})::int] AS l
                  FROM generate_series(1, {int(members)}) i) m""")
        # Activity: 35% never act; the others log-normal (sigma 1.6), scaled to the total; a per-member offset
        # numbers the actions. Popularity (who is followed, whose content is read) follows activity, with noise.
        cur.execute(f"""
            CREATE TEMP TABLE bench_activity AS
            WITH w AS (
                SELECT id AS member_id,
                       CASE WHEN random() < 0.35 THEN 0
                            ELSE exp(1.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) END AS w
                FROM community_scoring_member)
            SELECT member_id, w, n, sum(n) OVER (ORDER BY member_id) - n AS first,
                   random() < 0.04 AS sour,                                 -- writes mostly negative texts
                   0.3 + 2.7 * random() AS growth                           -- how its scores grew over 90 days
            FROM (SELECT member_id, w, floor(w * {int(actions)} / sum(w) OVER () + random())::bigint AS n FROM w) s""",
                    )
        cur.execute("""
            CREATE TEMP TABLE bench_popular AS
            SELECT row_number() OVER (ORDER BY w * (0.5 + random()) DESC, member_id) - 1 AS pos, member_id
            FROM bench_activity WHERE n > 0""")
        cur.execute("SELECT count(*) FROM bench_popular")
        popular = cur.fetchone()[0]
        cur.execute("SELECT sum(n) FROM bench_activity")
        total = int(cur.fetchone()[0])
        contents = max(1000, total // 40)
        # Merged identities: 2% of the active members also have a discourse account folded into them.
        _step(cur, "identities", f"""
            INSERT INTO community_scoring_member (id, source, external_id, email, display_name, crm_id, persona,
                attributes, joined_at, is_excluded, created_at, updated_at, email_verified, merged_into_id{names})
            SELECT {int(members)} + row_number() OVER (), 'discourse', 'd' || m.id, m.email, m.display_name, '', m.persona, '{{}}',
                   m.joined_at, false, now(), now(), true, m.id{literals}
            FROM community_scoring_member m JOIN bench_activity a ON a.member_id = m.id
            WHERE a.n > 0 AND random() < 0.02""")
        cur.execute("SELECT setval(pg_get_serial_sequence('community_scoring_member', 'id'),"
                    " (SELECT max(id) FROM community_scoring_member))")
        names, literals = _fill(cur, "community_scoring_content", [
            "id", "source", "external_id", "kind", "topic", "title", "created_at", "author_id"])
        _step(cur, "content", f"""
            INSERT INTO community_scoring_content (id, source, external_id, kind, topic, title, created_at,
                author_id{names})
            SELECT c, 'bench', 'c' || c, CASE WHEN c % 10 = 0 THEN 'blog' ELSE 'question' END,
                   {_sql_list(TOPICS)}[1 + c % {len(TOPICS)}], 'How do I ' || c || '?',
                   now() - interval '{DAYS + 30} days' * random(), p.member_id{literals}
            FROM (SELECT c, floor({popular} * power(random(), 2.5))::bigint AS pos FROM generate_series(1, {contents}) c) x
            JOIN bench_popular p ON p.pos = x.pos""")
        cur.execute("SELECT setval(pg_get_serial_sequence('community_scoring_content', 'id'),"
                    " (SELECT max(id) FROM community_scoring_content))")  # later ingest adds contents after them
        cases, low = [], 0.0
        for kind, share in TYPES:
            low += share
            cases.append(f"WHEN r < {low:.4f} THEN '{kind}'")
        type_case = "CASE " + " ".join(cases) + f" ELSE '{TYPES[0][0]}' END"
        cur.execute("CREATE TEMP TABLE bench_texts (k int PRIMARY KEY, text text, compound float)")
        cur.executemany("INSERT INTO bench_texts VALUES (%s, %s, %s)", [(k, t, c) for k, (t, c) in enumerate(TEXTS)])
        names, literals = _fill(cur, "community_scoring_action", [
            "id", "member_id", "action_type_id", "occurred_at", "target_member_id", "target_content_id", "topic",
            "text", "metadata", "source", "external_event_id", "recorded_at", "identity_id", "target_identity_id"])
        # More recent days busier: day offsets u^1.3 * 90. Texts: sour members pick from the negative end.
        _step(cur, "actions", f"""
            INSERT INTO community_scoring_action (id, member_id, action_type_id, occurred_at, target_member_id,
                target_content_id, topic, text, metadata, source, external_event_id, recorded_at{names})
            SELECT x.id, x.member_id, x.kind, x.at,
                   CASE WHEN x.kind IN {TARGETS_CONTENT} THEN c.author_id WHEN x.kind = 'follow' THEN p.member_id END,
                   CASE WHEN x.kind IN {TARGETS_CONTENT} THEN c.id END,
                   CASE WHEN x.kind IN {TARGETS_CONTENT} OR x.kind IN ('question', 'blog_post') THEN c.topic ELSE '' END,
                   coalesce(t.text, ''),
                   CASE WHEN x.kind = 'poll_response' THEN jsonb_build_object('rating', 1 + x.id % 5) ELSE '{{}}' END,
                   'bench', 'e' || x.id, x.at + interval '2 seconds'{literals}
            FROM (
                SELECT a.first + g AS id, a.member_id, {type_case} AS kind,
                       now() - interval '{DAYS} days' * power(random(), 1.3) AS at,
                       1 + floor({contents} * power(random(), 2))::bigint AS content,
                       floor({popular} * power(random(), 2))::bigint AS followed,
                       CASE WHEN a.sour THEN {len(TEXTS)} - 1 - floor(random() * 4)::int
                            ELSE floor(random() * {len(TEXTS)} * 0.85)::int END AS text_k
                FROM bench_activity a CROSS JOIN LATERAL generate_series(1, a.n) g
                CROSS JOIN LATERAL (SELECT random() AS r OFFSET 0 * g) rr
                WHERE a.n > 0) x
            JOIN community_scoring_content c ON c.id = x.content
            JOIN bench_popular p ON p.pos = x.followed
            LEFT JOIN bench_texts t ON t.k = x.text_k AND x.kind IN ('comment', 'answer')""")
        cur.execute("SELECT setval(pg_get_serial_sequence('community_scoring_action', 'id'),"
                    " (SELECT max(id) FROM community_scoring_action))")
        _step(cur, "text sentiment", """
            INSERT INTO influence_textsentiment (action_id, compound, member_id, occurred_at, target_member_id)
            SELECT a.id, t.compound, a.member_id, a.occurred_at, a.target_member_id
            FROM community_scoring_action a JOIN bench_texts t ON t.text = a.text WHERE a.text <> ''""")
        rules = """(SELECT r.action_type_id, r.points, r.target_points, r.daily_cap FROM community_scoring_rule r
                    JOIN community_scoring_ruleset s ON s.id = r.rule_set_id AND s.persona = '')"""
        _step(cur, "interest buckets", f"""
            INSERT INTO community_scoring_interestbucket (member_id, action_type_id, day, received, count,
                raw_points, points, topic_counts)
            SELECT b.member_id, b.action_type_id, b.day, b.received, b.n, b.n * b.p,
                   CASE WHEN b.cap IS NULL THEN b.n * b.p ELSE least(b.n * b.p, b.cap) END, '{{}}'
            FROM (
                SELECT a.member_id, a.action_type_id, (a.occurred_at AT TIME ZONE 'UTC')::date AS day, false AS received,
                       count(*) AS n, r.points AS p, r.daily_cap AS cap
                FROM community_scoring_action a JOIN {rules} r USING (action_type_id)
                GROUP BY 1, 2, 3, r.points, r.daily_cap
                UNION ALL
                SELECT a.target_member_id, a.action_type_id, (a.occurred_at AT TIME ZONE 'UTC')::date, true,
                       count(*), r.target_points, NULL
                FROM community_scoring_action a JOIN {rules} r USING (action_type_id)
                WHERE a.target_member_id IS NOT NULL AND r.target_points <> 0
                GROUP BY 1, 2, 3, r.target_points) b""")
        _step(cur, "interest topics", f"""
            INSERT INTO community_scoring_interesttopic (member_id, topic, points, ref_time)
            SELECT member_id, topic,
                   sum(power(2, -extract(epoch FROM now() - occurred_at) / 86400 / {half_life})), now()
            FROM community_scoring_action WHERE topic <> '' GROUP BY 1, 2""")
        fit = ("(CASE WHEN m.attributes->>'job_title' ILIKE '%engineer%' THEN 10 ELSE 0 END"
               " + CASE WHEN m.attributes->>'job_title' ILIKE '%manager%' THEN 5 ELSE 0 END"
               " + CASE WHEN (m.attributes->>'company_size')::int >= 200 THEN 15 ELSE 0 END"
               " + CASE WHEN m.attributes->>'industry' IN ('software', 'saas', 'fintech') THEN 5 ELSE 0 END)")
        names, literals = _fill(cur, "community_scoring_interestscore", [
            "member_id", "engagement", "ref_time", "fit", "score", "stage", "primary_topic", "last_activity_at",
            "config_version", "updated_at", "rank_key"])
        _step(cur, "interest scores", f"""
            INSERT INTO community_scoring_interestscore (member_id, engagement, ref_time, fit, score, stage,
                primary_topic, last_activity_at, config_version, updated_at, rank_key{names})
            SELECT m.id, e.engagement, now(), {fit}, e.engagement + {fit},
                   {stage_case('e.engagement', fit)}, coalesce(t.topic, ''), l.last, 1, now(),
                   e.engagement + {fit}{literals}
            FROM community_scoring_member m
            LEFT JOIN (SELECT member_id, greatest(sum(points * power(2, -(current_date - day) / {half_life})), 0)
                              AS engagement
                       FROM community_scoring_interestbucket GROUP BY 1) e0 ON e0.member_id = m.id
            CROSS JOIN LATERAL (SELECT coalesce(e0.engagement, 0) AS engagement) e
            LEFT JOIN (SELECT DISTINCT ON (member_id) member_id, topic FROM community_scoring_interesttopic
                       ORDER BY member_id, points DESC) t ON t.member_id = m.id
            LEFT JOIN (SELECT member_id, max(occurred_at) AS last FROM community_scoring_action GROUP BY 1) l
                   ON l.member_id = m.id
            WHERE m.merged_into_id IS NULL""")
        # History: each member's engagement grew to today's along its own curve ((d / 90) ^ growth).
        _step(cur, "score snapshots", f"""
            INSERT INTO community_scoring_scoresnapshot (member_id, date, engagement, fit, score, stage)
            SELECT s.member_id, current_date - {DAYS} + d, s.engagement * f, s.fit, s.engagement * f + s.fit,
                   {stage_case('s.engagement * f', 's.fit')}
            FROM community_scoring_interestscore s JOIN bench_activity a USING (member_id)
            CROSS JOIN LATERAL generate_series(1, {DAYS}) d
            CROSS JOIN LATERAL (SELECT power(d::float / {DAYS}, a.growth) AS f) g""")
        _step(cur, "stage transitions", """
            INSERT INTO community_scoring_stagetransition (member_id, from_stage, to_stage, occurred_at, engagement,
                fit, reason)
            SELECT member_id, coalesce(previous, ''), stage, date + time '04:00', engagement, fit,
                   CASE WHEN previous IS NULL THEN 'recompute' ELSE 'action' END
            FROM (SELECT member_id, date, stage, engagement, fit,
                         lag(stage) OVER (PARTITION BY member_id ORDER BY date) AS previous
                  FROM community_scoring_scoresnapshot) s
            WHERE stage IS DISTINCT FROM previous AND NOT (previous IS NULL AND stage = 'visitor')""")
        names, literals = _fill(cur, "influence_influencerun", [
            "id", "status", "trigger", "created_at", "started_at", "finished_at", "ref_time", "nodes", "edges",
            "iterations", "converged", "warm_start", "texts_scored", "duration_seconds", "timings", "config", "error",
            "scores_pruned"])
        _step(cur, "influence runs", f"""
            INSERT INTO influence_influencerun (status, trigger, created_at, started_at, finished_at, ref_time, nodes,
                edges, iterations, converged, warm_start, texts_scored, duration_seconds, timings, config, error,
                scores_pruned{names})
            SELECT 'done', 'schedule', t, t, t + interval '1 second' * dur, t, {int(members)}, {total}, 40, true, d > 1, 0, dur,
                   '{{}}', '{{}}', '', d < {DAYS}{literals}
            FROM generate_series(1, {DAYS}) d
            CROSS JOIN LATERAL (SELECT (current_date - {DAYS} + d) + time '03:00' AS t,
                                       25 + 10 * random() AS dur) x
            ORDER BY d""")
        cur.execute("SELECT max(id) FROM influence_influencerun")
        run_id = cur.fetchone()[0]
        # Current influence: centrality from weighted inbound actions, reach from distinct engaging members, the
        # sentiment of what each wrote (shrunk toward 0 with few texts), flags from the influence parameters.
        cur.execute(f"""
            CREATE TEMP TABLE bench_influence AS
            WITH inbound AS (
                SELECT target_member_id AS member_id,
                       sum(CASE action_type_id WHEN 'follow' THEN 3 WHEN 'answer' THEN 2 WHEN 'read' THEN 0.2
                           ELSE 1 END) AS weight,
                       count(*) FILTER (WHERE action_type_id = 'follow') AS followers,
                       count(DISTINCT member_id) AS reach
                FROM community_scoring_action WHERE target_member_id IS NOT NULL GROUP BY 1),
            written AS (
                SELECT member_id, avg(compound) AS mean, count(*) AS n,
                       avg((compound > 0.05)::int) AS pos, avg((compound < -0.05)::int) AS neg
                FROM influence_textsentiment GROUP BY 1),
            received AS (
                SELECT target_member_id AS member_id, avg(compound) AS mean, count(*) AS n
                FROM influence_textsentiment WHERE target_member_id IS NOT NULL GROUP BY 1),
            base AS (
                SELECT s.member_id, coalesce(i.weight, 0) + 0.15 AS weight, coalesce(i.followers, 0) AS followers,
                       coalesce(i.reach, 0) AS reach, w.mean, coalesce(w.n, 0) AS n, coalesce(w.pos, 0) AS pos,
                       coalesce(w.neg, 0) AS neg, r.mean AS received_mean, coalesce(r.n, 0) AS received_n,
                       coalesce(w.mean, 0) * coalesce(w.n, 0) / (coalesce(w.n, 0) + 3.0) AS sentiment
                FROM community_scoring_interestscore s
                LEFT JOIN inbound i USING (member_id) LEFT JOIN written w USING (member_id)
                LEFT JOIN received r USING (member_id)),
            ranked AS (
                SELECT *, weight / sum(weight) OVER () AS centrality,
                       100 * percent_rank() OVER (ORDER BY weight) AS centrality_pct,
                       100 * percent_rank() OVER (ORDER BY reach) AS reach_pct FROM base),
            scored AS (
                SELECT *, 0.7 * centrality_pct + 0.3 * reach_pct AS influence_base,
                       least(100, greatest(0, (0.7 * centrality_pct + 0.3 * reach_pct) * (1 + 0.2 * sentiment)))
                       AS influence FROM ranked)
            SELECT *, rank() OVER (ORDER BY influence DESC) AS rank,
                   100 * percent_rank() OVER (ORDER BY influence) AS percentile,
                   influence >= {adv_min} AND n >= {min_texts} AND sentiment >= {adv_sent} AS advocate,
                   influence >= {det_min} AND n >= {min_texts} AND sentiment <= {det_sent} AS detractor
            FROM scored""")
        names, literals = _fill(cur, "influence_influencescore", [
            "run_id", "member_id", "centrality", "rank", "percentile", "centrality_percentile", "in_degree",
            "sources", "reach", "reach_percentile", "sentiment_mean", "sentiment_count", "sentiment_positive_share",
            "sentiment_negative_share", "received_sentiment_mean", "received_count", "sentiment", "influence_base",
            "influence", "is_advocate", "is_detractor"])
        _step(cur, "influence scores", f"""
            INSERT INTO influence_influencescore (run_id, member_id, centrality, rank, percentile,
                centrality_percentile, in_degree, sources, reach, reach_percentile, sentiment_mean, sentiment_count,
                sentiment_positive_share, sentiment_negative_share, received_sentiment_mean, received_count,
                sentiment, influence_base, influence, is_advocate, is_detractor{names})
            SELECT {run_id}, member_id, centrality, rank, percentile, centrality_pct, followers, reach, reach, reach_pct,
                   mean, n, pos, neg, received_mean, received_n, sentiment, influence_base, influence, advocate,
                   detractor{literals}
            FROM bench_influence""")
        # Each member's ten heaviest inbound edges per (source, type family), with the weights above (no decay), as
        # a run stores them (InfluenceEdge), so audience views read the run's edges, not the log.
        _step(cur, "influence inbound edges", f"""
            INSERT INTO influence_influenceedge (run_id, member_id, source_id, action_type_id, actions, weight)
            SELECT {run_id}, target, source, family, actions, weight FROM (
                SELECT *, row_number() OVER (PARTITION BY target ORDER BY weight DESC, source, family) AS k FROM (
                    SELECT target_member_id AS target, member_id AS source,
                           CASE action_type_id WHEN 'unfollow' THEN 'follow' WHEN 'unvote' THEN 'vote_up'
                               ELSE action_type_id END AS family,
                           count(*) FILTER (WHERE action_type_id NOT IN ('unfollow', 'unvote')) AS actions,
                           sum(CASE action_type_id WHEN 'follow' THEN 3 WHEN 'unfollow' THEN -3 WHEN 'answer' THEN 2
                               WHEN 'read' THEN 0.2 WHEN 'unvote' THEN -1 ELSE 1 END) AS weight
                    FROM community_scoring_action
                    WHERE target_member_id IS NOT NULL AND target_member_id <> member_id GROUP BY 1, 2, 3) g
                WHERE weight > 0) r
            WHERE k <= 10""")
        cur.execute(f"UPDATE influence_influencerun SET inbound_edges_kept = 10 WHERE id = {run_id}")
        _step(cur, "influence snapshots", f"""
            INSERT INTO influence_influencesnapshot (member_id, day, run_id, influence, influence_base, rank,
                percentile, centrality_percentile, reach, sentiment, is_advocate, is_detractor)
            SELECT member_id, day, {run_id} - {DAYS} + d, v, b, rank() OVER (PARTITION BY d ORDER BY v DESC),
                   100 * percent_rank() OVER (PARTITION BY d ORDER BY v), c, r, sentiment,
                   v >= {adv_min} AND n >= {min_texts} AND sentiment >= {adv_sent},
                   v >= {det_min} AND n >= {min_texts} AND sentiment <= {det_sent}
            FROM (SELECT i.member_id, d, current_date - {DAYS} + d AS day, i.n, i.sentiment,
                         i.influence * f AS v, i.influence_base * f AS b, i.centrality_pct * f AS c,
                         floor(i.reach * f)::int AS r
                  FROM bench_influence i JOIN bench_activity a USING (member_id)
                  CROSS JOIN LATERAL generate_series(1, {DAYS}) d
                  CROSS JOIN LATERAL (SELECT 0.5 + 0.5 * power(d::float / {DAYS}, a.growth) AS f) g) s""")
    names, literals = _fill(cur, "community_scoring_recomputejob", [
        "kind", "status", "config_version", "total", "done", "error", "created_at", "started_at", "finished_at"])
    _step(cur, "recompute jobs", f"""
        INSERT INTO community_scoring_recomputejob (kind, status, config_version, total, done, error, created_at,
            started_at, finished_at{names})
        SELECT 'interest', 'done', 1, {int(members)}, {int(members)}, '', t, t, t + interval '95 seconds'{literals}
        FROM (SELECT now() - interval '1 day' * d AS t FROM generate_series(1, 5) d) x""")
    conn.commit()
    print(f"  built in {time.perf_counter() - t_all:.0f} s", flush=True)
    conn.close()


def database_reuse_or_migrate(db: str, key: str, rebuild: bool) -> bool:
    """True when ``db`` was built as ``key`` (its comment) and may be reused; otherwise (re)create it, migrate it
    and return False: the caller builds it and comments it with ``key``."""
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{db}'") == "1"
    if exists and not rebuild:
        comment = psql(f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{db}'")
        if comment == key:
            print(f"reusing {db} ({key})", flush=True)
            return True
        print(f"{db} was built as {comment or 'something else'!r}: rebuilding", flush=True)
    if exists:
        psql(f'DROP DATABASE "{db}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{db}"')
    print(f"migrating {db} ...", flush=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=django_env(db), check=True)
    return False


def database_ready(db: str, members: int, actions: int, rebuild: bool) -> str:
    key = shape_key(members, actions)
    if database_reuse_or_migrate(db, key, rebuild):
        return db
    print(f"building {members:,} members, {actions:,} actions, {DAYS} days of snapshots in SQL ...", flush=True)
    t0 = time.perf_counter()
    build(db, members, actions)
    aggregates_refresh(db)
    print("  vacuum analyze ...", flush=True)
    psql("VACUUM ANALYZE", db)
    psql(f"COMMENT ON DATABASE \"{db}\" IS '{key}'")
    print(f"built {db} in {time.perf_counter() - t0:.0f} s", flush=True)
    return db


def aggregates_refresh(db: str) -> None:
    """The dashboard's daily aggregates, when the pages' work that adds them is present."""
    code = (
        "import time, django; django.setup()\n"
        "try:\n"
        "    from community_scoring.services.community_days import community_days_refresh\n"
        "except ImportError:\n"
        "    print('  no community_scoring.services.community_days yet: daily aggregates skipped')\n"
        "else:\n"
        "    t0 = time.perf_counter(); community_days_refresh(since=None)\n"
        "    print(f'  community_days_refresh: {time.perf_counter() - t0:.1f} s')\n"
    )
    subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=django_env(db), check=True)


# --- measuring ------------------------------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def pages(heavy: int, typical: int) -> list[tuple[str, str]]:
    """(label, URL): the pages of issue 13 (public contracts), then stand-ins that exist today."""
    out = [("dashboard", "/")]
    for kind in ("interest", "influence", "advocates", "detractors", "rising"):
        base = f"/leaderboards/{kind}/"
        out += [(f"leaderboard {kind}", base),
                (f"leaderboard {kind}, persona", f"{base}?persona=developer"),
                (f"leaderboard {kind}, period 7d", f"{base}?period=7d"),
                (f"leaderboard {kind}, persona + 30d", f"{base}?persona=marketer&period=30d")]
    out += [("leaderboard interest, search", "/leaderboards/interest/?q=Priya"),
            ("leaderboard influence, search", "/leaderboards/influence/?q=u4242"),
            ("leaderboard interest, page 5", "/leaderboards/interest/?page=5"),
            (f"member, heavy (#{heavy})", f"/members/{heavy}/"),
            (f"member, typical (#{typical})", f"/members/{typical}/"),
            ("settings scoring", "/settings/scoring/"),
            # Stand-ins: pages and JSON answering today, through the same client and session.
            ("(stand-in) admin index", "/admin/"),
            ("(stand-in) API leaderboard interest", "/api/v1/leaderboards/interest/"),
            ("(stand-in) API leaderboard influence, persona + 30d",
             "/api/v1/leaderboards/influence/?persona=marketer&period=30d"),
            ("(stand-in) API leaderboard rising, 30d", "/api/v1/leaderboards/rising/?period=30d"),
            ("(stand-in) API members, stage=MQL", "/api/v1/members/?stage=MQL"),
            ("(stand-in) API members, stage=engaged, -interest", "/api/v1/members/?stage=engaged&ordering=-interest"),
            ("(stand-in) API members, stage=visitor, -engagement",
             "/api/v1/members/?stage=visitor&ordering=-engagement"),
            ("(stand-in) API members, stage=MQL, interest (ascending)", "/api/v1/members/?stage=MQL&ordering=interest"),
            ("(stand-in) API members export, stage=advocate-candidate",
             "/api/v1/members/export/?stage=advocate-candidate&format=csv"),
            (f"(stand-in) API member, heavy (#{heavy})", f"/api/v1/members/{heavy}/"),
            (f"(stand-in) API member, typical (#{typical})", f"/api/v1/members/{typical}/")]
    return out


def measure(requests: int) -> None:
    import logging

    logging.getLogger("django.request").setLevel(logging.ERROR)  # a 404 is reported in the table, once
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count
    from django.test import Client

    from community_scoring.models import InterestScore

    User = get_user_model()
    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench-admin@example.com", "bench-admin-password")
    client = Client()
    client.force_login(admin)
    with connection.cursor() as cur:
        cur.execute("SELECT member_id, count(*) FROM community_scoring_action GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
        heavy, heavy_n = cur.fetchone()
        cur.execute("SELECT member_id, n FROM (SELECT member_id, count(*) AS n FROM community_scoring_action"
                    " GROUP BY 1) c ORDER BY n LIMIT 1 OFFSET (SELECT count(DISTINCT member_id) / 2"
                    " FROM community_scoring_action)")
        typical, typical_n = cur.fetchone()
        cur.execute("SELECT (SELECT count(*) FROM community_scoring_member WHERE merged_into_id IS NULL),"
                    " (SELECT reltuples::bigint FROM pg_class WHERE relname = 'community_scoring_action'),"
                    " (SELECT count(DISTINCT date) FROM community_scoring_scoresnapshot)")
        n_members, n_actions, n_days = cur.fetchone()
    stages = dict(InterestScore.objects.values_list("stage").annotate(n=Count("pk")).order_by("stage"))
    print(f"\n{n_members:,} members, ~{n_actions:,} actions, {n_days} days of snapshots; stages {stages}")
    print(f"heavy member #{heavy}: {heavy_n:,} actions; typical (median active) member #{typical}: {typical_n:,}")
    print(f"server time per page, Django test client in process, signed in as admin, {requests} requests each "
          f"(after 2 untimed); target p95 <= {TARGET_MS:.0f} ms\n")
    print(f"{'page':<52} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>7}  verdict")
    skipped, slow = [], []
    for label, url in pages(heavy, typical):
        first = client.get(url)
        if first.status_code == 404:
            skipped.append((label, url))
            print(f"{label:<52} {'404':>6} {'':>8} {'':>8} {'':>8} {'':>7}  skipped: {url} does not exist yet")
            continue
        if first.status_code != 200:
            print(f"{label:<52} {first.status_code:>6}  {url} answered {first.status_code}: not measured")
            continue
        client.get(url)
        statements: list[str] = []
        with connection.execute_wrapper(lambda execute, sql, *rest, seen=statements: seen.append(sql) or execute(sql, *rest)):
            response = client.get(url)
            b"".join(response.streaming_content) if response.streaming else response.content
        queries = len(statements)
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            response = client.get(url)
            b"".join(response.streaming_content) if response.streaming else response.content
            times.append((time.perf_counter() - start) * 1000)
        p50, p95 = statistics.median(times), pct(times, 95)
        verdict = "ok" if p95 <= TARGET_MS else "OVER TARGET"
        if p95 > TARGET_MS:
            slow.append(label)
        print(f"{label:<52} {200:>6} {p50:8.1f} {p95:8.1f} {max(times):8.1f} {queries:>7}  {verdict}", flush=True)
    if skipped:
        print(f"\n{len(skipped)} page(s) skipped (404: not built on this branch yet).")
    print(f"{len(slow)} measured page(s) over {TARGET_MS:.0f} ms at p95" + (f": {', '.join(slow)}" if slow else "."))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--actions", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--db", help="the database to build and measure in (default: named after the shape)")
    args = parser.parse_args()
    db = args.db or db_name(args.members, args.actions)
    os.environ.update(django_env(db))
    import django

    django.setup()
    database_ready(db, args.members, args.actions, args.rebuild)
    measure(args.requests)


if __name__ == "__main__":
    main()
