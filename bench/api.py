"""API benchmark at 1M members on PostgreSQL, over HTTP: leaderboard pages, audience views, CSV export.

    .venv/bin/python bench/api.py                      # 1M members (loads cs_bench_api on first use)
    .venv/bin/python bench/api.py --members 100000     # smaller community (its own database)
    .venv/bin/python bench/api.py --reload             # rebuild the database
    .venv/bin/python bench/api.py --requests 300       # requests per measured endpoint

The database (cs_bench_api, or cs_bench_api_<n> for other sizes) is created, migrated and bulk-loaded with
COPY: members, an interest row and a current influence row each, a daily snapshot 35 days back (for "rising"),
about one action and one interest bucket per member (so audience views read real breakdowns and inbound edges).
Then gunicorn (2 sync workers, settings.prod) serves it on 127.0.0.1 and one client measures, sequentially,
each request's latency including the body: median and p99 per endpoint. The CSV export of every member is
timed end to end while the serving worker's resident memory is sampled every 100 ms.

Targets (issue 5): leaderboard page and audience view <= 25 ms median, <= 100 ms p99; export of 1M members
<= 60 s with flat memory.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
SEED = 20261126
PERSONAS = ["developer", "marketer", "manager", "student", ""]
TOPICS = ["api", "install", "billing", "security", "ui", "performance"]
STAGES = [("advocate-candidate", 150, 20), ("MQL", 50, 20), ("engaged", 20, 0), ("visitor", 0, 0)]
ACTION_TYPES = ["vote_up", "answer", "comment", "follow", "read", "poll_response"]


def db_name(members: int) -> str:
    return "cs_bench_api" if members == 1_000_000 else f"cs_bench_api_{members}"


def psql(sql: str, db: str = "postgres") -> str:
    out = subprocess.run(["psql", f"{PG}/{db}", "-tAc", sql], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def django_env(db: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "settings.prod",
        "DJANGO_SECRET_KEY": "bench-only-secret-" + "0" * 32,
        "DATABASE_URL": f"{PG}/{db}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CACHE_URL": "redis://127.0.0.1:6379/13",
        "API_THROTTLE_RATE": "10000000/min",
        "DJANGO_SECURE_COOKIES": "false",
        "LOG_LEVEL": "WARNING",
    }


# --- loading ------------------------------------------------------------------------------------------------

_FILLERS = {"boolean": "f", "integer": "0", "bigint": "0", "smallint": "0", "double precision": "0", "real": "0",
            "jsonb": "{}", "json": "{}", "text": "", "character varying": ""}


def _missing_columns(cursor, table: str, columns: list[str]) -> tuple[list[str], list[str]]:
    """NOT NULL columns without a database default that the loader does not set (added by later migrations),
    with a neutral value each, so the benchmark keeps loading while the schema grows."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s"
        " AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'", [table])
    names, values = [], []
    for name, kind in cursor.fetchall():
        if name in columns:
            continue
        names.append(name)
        values.append(datetime.now(timezone.utc).isoformat() if kind.startswith("timestamp") else _FILLERS[kind])
    return names, values


def _copy(cursor, table: str, columns: list[str], lines) -> None:
    """COPY rows (tab-separated text lines, \\N for NULL) in chunks of 200k."""
    extra, values = _missing_columns(cursor, table, columns)
    suffix = "".join(f"\t{v}" for v in values) + "\n"
    chunk: list[str] = []

    def flush():
        if chunk:
            cursor.copy_expert(
                f"COPY {table} ({', '.join(columns + extra)}) FROM STDIN", io.StringIO("".join(chunk)))
            chunk.clear()

    for line in lines:
        chunk.append(line[:-1] + suffix)
        if len(chunk) >= 200_000:
            flush()
    flush()


def _insert(cursor, table: str, row: dict) -> int:
    extra, values = _missing_columns(cursor, table, list(row))
    names = list(row) + extra
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) RETURNING id",
        list(row.values()) + values)
    return cursor.fetchone()[0]


def load(members: int, db: str) -> None:
    import psycopg2

    rng = np.random.default_rng(SEED)
    now = datetime.now(timezone.utc)
    stamp = now.isoformat()
    now64 = np.datetime64(now.replace(tzinfo=None), "s")
    ids = np.arange(1, members + 1)
    persona = rng.integers(0, len(PERSONAS), members)
    excluded = rng.random(members) < 0.005
    joined = now64 - np.timedelta64(1, "D") - (rng.random(members) * 3 * 365 * 86400).astype("timedelta64[s]")
    # Interest: a long-tailed engagement, fit in steps, last activity within 120 days (10% never active).
    engagement = np.round(rng.lognormal(2.0, 1.3, members), 4)
    fit = rng.choice([0.0, 5.0, 10.0, 20.0, 30.0], members)
    score = engagement + fit
    active = rng.random(members) >= 0.1
    last_activity = now64 - (rng.random(members) * 120 * 86400).astype("timedelta64[s]")
    topic = rng.integers(0, len(TOPICS), members)
    # Influence: a Pareto centrality, ranks and percentiles from it, sentiment in [-1, 1] (20% no texts).
    centrality = rng.pareto(1.5, members) + 1
    centrality = centrality / centrality.sum()
    order = np.lexsort((ids, -centrality))
    rank = np.empty(members, dtype=np.int64)
    rank[order] = np.arange(1, members + 1)
    percentile = np.round(100.0 * (members - rank) / members, 4)
    followers = np.minimum((centrality * members * 3).astype(np.int64), 100_000)
    reach = np.minimum((centrality * members * 5).astype(np.int64), 500_000)
    sentiment_mean = np.round(np.clip(rng.normal(0.15, 0.35, members), -1, 1), 4)
    has_texts = rng.random(members) >= 0.2
    influence = np.round(0.7 * percentile + 0.3 * rng.random(members) * 100, 4)
    advocate = (influence >= 60) & has_texts & (sentiment_mean >= 0.05)
    detractor = (influence >= 60) & has_texts & (sentiment_mean <= -0.05)

    def stage_of(e: float, f: float) -> str:
        for name, min_e, min_f in STAGES:
            if e >= min_e and f >= min_f:
                return name
        return "visitor"

    conn = psycopg2.connect(f"{PG}/{db}")
    conn.autocommit = False
    cur = conn.cursor()
    t0 = time.perf_counter()
    _copy(cur, "community_scoring_member", [
        "id", "source", "external_id", "email", "display_name", "crm_id", "persona", "attributes", "joined_at",
        "user_id", "is_excluded", "created_at", "updated_at",
    ], (
        f"{i}\tbench\tu{i}\tuser{i}@example.com\tMember {i}\t\t{PERSONAS[persona[k]]}\t{{}}\t"
        f"{joined[k]}+00:00\t\\N\t{'t' if excluded[k] else 'f'}\t{stamp}\t{stamp}\n"
        for k, i in enumerate(ids.tolist())
    ))
    cur.execute("SELECT setval(pg_get_serial_sequence('community_scoring_member', 'id'), %s)", [members])
    print(f"  members: {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    _copy(cur, "community_scoring_interestscore", [
        "member_id", "engagement", "ref_time", "fit", "score", "stage", "primary_topic", "last_activity_at",
        "config_version", "updated_at", "rank_key",
    ], (
        f"{i}\t{engagement[k]}\t{stamp}\t{fit[k]}\t{score[k]}\t{stage_of(engagement[k], fit[k])}\t"
        f"{TOPICS[topic[k]]}\t{(str(last_activity[k]) + '+00:00') if active[k] else chr(92) + 'N'}\t1\t{stamp}\t"
        f"{score[k]}\n"
        for k, i in enumerate(ids.tolist())
    ))
    print(f"  interest: {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    config = ('{"centrality_weight": 0.7, "reach_weight": 0.3, "sentiment_weight": 0.2, "half_life_days": 180.0,'
              ' "edge_weights": {"follow": 3.0, "vote_up": 1.0, "answer": 2.0, "comment": 1.0, "read": 0.2,'
              ' "poll_response": 0.5}}')
    run_id = _insert(cur, "influence_influencerun", {
        "status": "done", "trigger": "bench", "created_at": now, "started_at": now, "finished_at": now,
        "ref_time": now, "nodes": members, "edges": 0, "iterations": 50, "converged": True, "warm_start": False,
        "texts_scored": 0, "duration_seconds": 1.0, "timings": "{}", "config": config, "error": "",
    })
    _copy(cur, "influence_influencescore", [
        "run_id", "member_id", "centrality", "rank", "percentile", "in_degree", "reach", "reach_percentile",
        "sentiment_mean", "sentiment_count", "sentiment_positive_share", "sentiment_negative_share",
        "received_sentiment_mean", "received_count", "sentiment", "influence", "is_advocate", "is_detractor",
        "centrality_percentile", "sources", "influence_base",
    ], (
        f"{run_id}\t{i}\t{float(centrality[k])!r}\t{rank[k]}\t{percentile[k]}\t{followers[k]}\t{reach[k]}\t50\t"
        f"{sentiment_mean[k] if has_texts[k] else chr(92) + 'N'}\t{3 if has_texts[k] else 0}\t0.5\t0.2\t\\N\t0\t"
        f"{sentiment_mean[k] if has_texts[k] else 0}\t{influence[k]}\t{'t' if advocate[k] else 'f'}\t"
        f"{'t' if detractor[k] else 'f'}\t{percentile[k]}\t{followers[k]}\t{influence[k]}\n"
        for k, i in enumerate(ids.tolist())
    ))
    print(f"  influence: {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    baseline_day = (now - timedelta(days=35)).date().isoformat()
    baseline = np.round(score * rng.uniform(0.3, 1.1, members), 4)
    _copy(cur, "community_scoring_scoresnapshot", ["member_id", "date", "engagement", "fit", "score", "stage"], (
        f"{i}\t{baseline_day}\t{baseline[k]}\t0\t{baseline[k]}\tvisitor\n" for k, i in enumerate(ids.tolist())
    ))
    print(f"  snapshots: {time.perf_counter() - t0:.1f} s", flush=True)
    # About one action per member, targets drawn by centrality (popular members receive many), and its bucket.
    t0 = time.perf_counter()
    n_actions = members
    actor = rng.integers(1, members + 1, n_actions)
    target = rng.choice(ids, n_actions, p=centrality)
    kind = rng.integers(0, len(ACTION_TYPES), n_actions)
    when = now64 - (rng.random(n_actions) * 90 * 86400).astype("timedelta64[s]")
    rating = rng.integers(1, 6, n_actions)

    def action_lines():
        for k in range(n_actions):
            a, t = int(actor[k]), int(target[k])
            if a == t:
                t = a % members + 1
            kind_k = ACTION_TYPES[kind[k]]
            meta = f'{{"rating": {rating[k]}}}' if kind_k == "poll_response" else "{}"
            target_member = "\\N" if kind_k == "poll_response" else str(t)
            yield (f"{a}\t{kind_k}\t{when[k]}+00:00\t{target_member}\t\\N\t\t\t{meta}\tbench\t"
                   f"e{k}\t{stamp}\n")

    _copy(cur, "community_scoring_action", [
        "member_id", "action_type_id", "occurred_at", "target_member_id", "target_content_id", "topic", "text",
        "metadata", "source", "external_event_id", "recorded_at",
    ], action_lines())
    cur.execute(
        "INSERT INTO community_scoring_interestbucket (member_id, action_type_id, day, received, count, raw_points,"
        " points, topic_counts)"
        " SELECT member_id, action_type_id, occurred_at::date, false, count(*), 3 * count(*), 3 * count(*), '{}'"
        " FROM community_scoring_action GROUP BY 1, 2, 3"
    )
    print(f"  actions and buckets: {time.perf_counter() - t0:.1f} s", flush=True)
    conn.commit()
    t0 = time.perf_counter()
    conn.autocommit = True
    cur.execute("VACUUM ANALYZE")
    print(f"  vacuum analyze: {time.perf_counter() - t0:.1f} s", flush=True)
    conn.close()


def database_ready(members: int, reload: bool) -> str:
    db = db_name(members)
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{db}'") == "1"
    if exists and not reload:
        count = psql("SELECT count(*) FROM community_scoring_member", db)
        if count == str(members):
            return db
    if exists:
        psql(f'DROP DATABASE "{db}"')
    psql(f'CREATE DATABASE "{db}"')
    print(f"migrating {db} ...", flush=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=django_env(db), check=True)
    print(f"loading {members:,} members with COPY ...", flush=True)
    load(members, db)
    return db


def token_for(db: str) -> str:
    code = (
        "import django; django.setup()\n"
        "from community_scoring.models import ApiToken\n"
        "from community_scoring.services.tokens import token_issue\n"
        "ApiToken.objects.filter(name='bench-api').delete()\n"
        "print(token_issue(name='bench-api', role='admin')[1])\n"
    )
    out = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=django_env(db), capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


# --- serving and measuring --------------------------------------------------------------------------------------

def gunicorn_start(db: str, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [GUNICORN, "settings.wsgi:application", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--timeout", "300", "--log-level", "warning"],
        cwd=ROOT, env=django_env(db),
    )
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/members/", timeout=5)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def measure(session: requests.Session, urls: list[str], *, label: str, rows: list) -> None:
    times = []
    for url in urls:
        start = time.perf_counter()
        response = session.get(url)
        _ = response.content
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
    rows.append((label, len(times), statistics.median(times), p99, max(times)))
    print(f"  {label:<48} n={len(times):<4} median {statistics.median(times):7.1f} ms   p99 {p99:7.1f} ms", flush=True)


def cursor_walk(session: requests.Session, url: str, pages: int) -> list[str]:
    """The URLs of the first `pages` pages of a cursor walk (so deep pages can be timed on their own)."""
    urls = [url]
    for _ in range(pages - 1):
        nxt = session.get(urls[-1]).json()["next"]
        if not nxt:
            break
        urls.append(nxt)
    return urls


def export(base: str, session: requests.Session, master: int) -> dict:
    pids = worker_pids(master)
    before = {pid: rss_mb(pid) for pid in pids}
    peak = dict(before)
    samples: list[float] = []
    done = threading.Event()

    def sample():
        while not done.is_set():
            for pid in pids:
                value = rss_mb(pid)
                peak[pid] = max(peak[pid], value)
            samples.append(max(rss_mb(pid) for pid in pids))
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    first_byte = None
    size = lines = 0
    with session.get(f"{base}/api/v1/members/export/", stream=True) as response:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=1 << 16):
            if first_byte is None:
                first_byte = time.perf_counter() - start
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - start
    done.set()
    thread.join()
    grew = max(peak[pid] - before[pid] for pid in pids)
    return {"seconds": seconds, "first_byte": first_byte, "bytes": size, "rows": lines - 1,
            "rss_before": max(before.values()), "rss_peak": max(peak.values()), "rss_growth": grew}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-export", action="store_true")
    args = parser.parse_args()

    db = database_ready(args.members, args.reload)
    token = token_for(db)
    server = gunicorn_start(db, args.port)
    base = f"http://127.0.0.1:{args.port}"
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    rnd = random.Random(SEED)
    n = args.requests
    rows: list = []
    try:
        for _ in range(40):  # warm both workers (imports, connections, caches)
            session.get(f"{base}/api/v1/leaderboards/interest/").content
            session.get(f"{base}/api/v1/members/{rnd.randint(1, args.members)}/").content
        print(f"\n{args.members:,} members, gunicorn 2 workers, {n} sequential requests per line:")
        board = f"{base}/api/v1/leaderboards"
        measure(session, [f"{board}/interest/"] * n, label="leaderboard interest, page 1 (50 rows)", rows=rows)
        deep = cursor_walk(session, f"{board}/interest/", 40)
        measure(session, (deep[20:] * (n // 20 + 1))[:n], label="leaderboard interest, pages 21-40 (cursor)", rows=rows)
        measure(session, [f"{board}/interest/?period=30d"] * n, label="leaderboard interest, period=30d", rows=rows)
        measure(session, [f"{board}/interest/?persona=developer&period=7d"] * n,
                label="leaderboard interest, persona + period=7d", rows=rows)
        measure(session, [f"{board}/influence/"] * n, label="leaderboard influence, page 1", rows=rows)
        measure(session, [f"{board}/influence/?persona=marketer"] * n, label="leaderboard influence, persona", rows=rows)
        measure(session, [f"{board}/advocates/"] * n, label="leaderboard advocates, page 1", rows=rows)
        measure(session, [f"{board}/detractors/"] * n, label="leaderboard detractors, page 1", rows=rows)
        measure(session, [f"{board}/rising/?period=30d"] * max(5, n // 30), label="leaderboard rising, period=30d",
                rows=rows)
        members = [rnd.randint(1, args.members) for _ in range(n)]
        measure(session, [f"{base}/api/v1/members/{m}/" for m in members], label="audience view, random member",
                rows=rows)
        top = session.get(f"{board}/influence/?page_size=20").json()["results"]
        measure(session, [f"{base}/api/v1/members/{top[i % len(top)]['member']['id']}/" for i in range(n)],
                label="audience view, top-20 influencers", rows=rows)
        measure(session, [f"{base}/api/v1/members/lookup/?external_id=u{m}" for m in members],
                label="audience view by external id", rows=rows)
        measure(session, [f"{base}/api/v1/members/"] * n, label="members list, page 1 (ordering=id)", rows=rows)
        measure(session, [f"{base}/api/v1/members/?stage=MQL&persona=developer"] * n,
                label="members list, stage + persona", rows=rows)
        measure(session, [f"{base}/api/v1/members/?ordering=-interest"] * max(5, n // 30),
                label="members list, ordering=-interest", rows=rows)
        if not args.no_export:
            print("\nCSV export of every member (streamed):", flush=True)
            result = export(base, session, server.pid)
            print(f"  {result['rows']:,} rows, {result['bytes'] / 1e6:.0f} MB in {result['seconds']:.1f} s "
                  f"(first byte after {result['first_byte'] * 1000:.0f} ms); serving worker RSS "
                  f"{result['rss_before']:.0f} MB before, {result['rss_peak']:.0f} MB peak "
                  f"(+{result['rss_growth']:.0f} MB)")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
