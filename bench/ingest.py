#!/usr/bin/env python
"""Ingest throughput on PostgreSQL, counted until interest scores are updated.

What it measures (all against a fresh database, `cs_bench` or $BENCH_DB, it creates and migrates; nothing else is
touched):

1. batched, in process: POST /api/v1/events/ with 1,000 events per request through Django's full request
   stack (JSON parsing, token auth, the real DRF view, actions_ingest, scoring, JSON rendering) via the WSGI
   test client, one request at a time, scoring inline (INTEREST_SCORING=inline: each request scores its batch
   before it answers). Bodies are pre-encoded, as a client would have them.
   Also the same batches' cost in actions_ingest alone (no HTTP), and a retry of batches (all duplicates).
2. batched over HTTP, for each scoring mode (--scoring, default both):
   - worker: the production setup. gunicorn (gunicorn.conf.py, the production settings: 2 workers of
     GUNICORN_THREADS threads) stores batches and answers; a Celery worker (prefork, 2 processes, Redis broker
     $BENCH_BROKER) scores them in passes (services.interest_queue). Timed until the last action is scored;
   - inline: gunicorn alone, each request scoring its batch before it answers.
   4 concurrent clients, after a few untimed warm-up batches; with the server's CPU per 1,000 events (web and
   Celery processes and their PostgreSQL backends).
3. single events over HTTP, per mode: one event per POST through the same gunicorn, driven by wrk when it is
   installed (apt install wrk), else by a bounded thread pool; requests/s with p50/p99 latency, and the time
   until they were all scored.

   Then single events with INGEST_ASYNC_COMMIT=true (commits without waiting for the WAL flush), reported apart.

Every action stored is checked to be counted once in its actor's buckets at the end.

Usage: .venv/bin/python bench/ingest.py [--batches 20] [--single-seconds 15] [--async-commit-seconds 8]
       [--scoring worker,inline]
Environment: BENCH_PG (default postgres://postgres@127.0.0.1:5432), BENCH_DB (default cs_bench), BENCH_BROKER
(default redis://127.0.0.1:6379/14, flushed), GUNICORN_CMD_ARGS (e.g. "--worker-class sync --threads 1").
Targets: batched >= 10,000 events/s, single >= 500 POSTs/s.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.stack import database_recreate, free_port

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB", "cs_bench")
BROKER = os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/14")
URL = "/api/v1/events/"
TYPES = [("vote_up", 30), ("read", 28), ("comment", 12), ("answer", 10), ("question", 5), ("follow", 5),
         ("share", 5), ("vote_down", 3), ("poll_response", 2)]
TOPICS = ["api", "sdk", "billing", "security", "ml", "ops", "mobile", "data", "auth", "search"]
TITLES = ["Engineer", "Engineering Manager", "Student", "Product Manager", "Founder"]


def environment(db: str = DB_NAME, cache: str | None = None) -> dict[str, str]:
    """The production settings a bench runs the server with (and this process, which reads the same database)."""
    env = {
        "DATABASE_URL": f"{PG}/{db}",
        "DJANGO_SETTINGS_MODULE": "settings.prod",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-not-secret-" + "0" * 32),
        "DJANGO_SECURE_COOKIES": "false",
        "API_THROTTLE_RATE": "10000000/min",
        "LOG_LEVEL": "WARNING",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "CACHE_URL": cache or os.environ.get("BENCH_CACHE", "redis://127.0.0.1:6379/13"),
        "DATABASE_CONN_MAX_AGE": "600",
        "INTEREST_SCORING": "inline",  # this process (phase 1); each HTTP phase sets its own
    }
    os.environ.update(env)
    return env


def events_make(rng: random.Random, start: int, count: int, *, members: int, contents: int, source: str,
                now: datetime, member_prefix: str = "u-", profiles: float = 0.1) -> list[dict]:
    """`count` events numbered from `start` (event ids e-<k>), by members <member_prefix>0 .. <members - 1>, on
    contents c-0 .. c-<contents - 1> (questions add new ones), occurred within the last 30 days; a ``profiles``
    share of them also say the member's email, name and attributes."""
    names, weights = zip(*TYPES)
    out = []
    for k in range(start, start + count):
        kind = rng.choices(names, weights)[0]
        actor = f"{member_prefix}{rng.randrange(members)}"
        event = {"source": source, "event_id": f"e-{k}", "type": kind,
                 "occurred_at": (now - timedelta(days=30 * rng.random())).isoformat().replace("+00:00", "Z"),
                 "member": {"external_id": actor}}
        if rng.random() < profiles:
            event["member"].update(email=f"{actor}@example.com", name=f"Member {actor}",
                                   attributes={"job_title": rng.choice(TITLES),
                                               "company_size": rng.choice([10, 250, 1000])})
        if kind == "follow":
            event["target_member"] = {"external_id": f"{member_prefix}{rng.randrange(members)}"}
        elif kind == "question":
            event["content"] = {"external_id": f"c-{contents + k}", "topic": rng.choice(TOPICS),
                                "title": "How do I page through results?"}
        else:
            cid = rng.randrange(contents)
            event["target_content"] = {"external_id": f"c-{cid}", "topic": TOPICS[cid % len(TOPICS)],
                                       "author": {"external_id": f"{member_prefix}{cid % members}"}}
        if kind in ("comment", "answer", "poll_response"):
            event["text"] = "Thanks, the cursor parameter fixed it. Great docs!"
        out.append(event)
    return out


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc (Linux): contention does not inflate it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def gunicorn_label() -> str:
    """The worker setup gunicorn will use: gunicorn.conf.py, then GUNICORN_CMD_ARGS (e.g. "--worker-class sync
    --threads 1" to compare with sync workers), as gunicorn itself resolves them."""
    import runpy
    import shlex

    from gunicorn.config import Config

    config = Config()
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    for name in ("worker_class", "threads"):
        config.set(name, conf[name])
    overrides = config.parser().parse_args(shlex.split(os.environ.get("GUNICORN_CMD_ARGS", "")))
    for name in ("worker_class", "threads"):
        if getattr(overrides, name, None) is not None:
            config.set(name, getattr(overrides, name))
    kind = config.worker_class_str
    if kind == "sync" and config.threads > 1:
        kind = "gthread"  # what gunicorn does
    return f"gunicorn 2 {kind} workers" + (f" x {config.threads} threads" if kind == "gthread" else "")


def gunicorn_start(env: dict[str, str], port: int) -> subprocess.Popen:
    binary = str(Path(sys.executable).parent / "gunicorn")
    proc = subprocess.Popen(
        [binary, "--config", str(ROOT / "gunicorn.conf.py"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gunicorn did not start")


def http_post(port: int, body: bytes, token: str) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", URL, body, {"Authorization": f"Token {token}", "Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, time.perf_counter() - started


WRK_SCRIPT = r"""
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  math.randomseed(1000 + tid)
end
function request()
  counter = counter + 1
  local author = math.random(0, %(members)d - 1)
  local body = string.format('{"source":"bench-single","event_id":"%(phase)s-%%d-%%d","type":"vote_up",' ..
    '"occurred_at":"%(ts)s","member":{"external_id":"u-%%d"},' ..
    '"target_content":{"external_id":"c-%%d","topic":"api","author":{"external_id":"u-%%d"}}}',
    tid, counter, math.random(0, %(members)d - 1), author, author)
  return wrk.format("POST", "%(url)s", {["Authorization"] = "Token %(token)s",
    ["Content-Type"] = "application/json"}, body)
end
"""


def single_with_wrk(port: int, token: str, *, seconds: int, connections: int, members: int, phase: str) -> dict:
    ts = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT % {"members": members, "ts": ts, "url": URL, "token": token, "phase": phase})
        script = f.name
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s", "-s", script,
             f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(script)

    def latency(label: str) -> float:
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {"driver": f"wrk -t2 -c{connections} -d{seconds}s", "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": latency("50"), "p99_ms": latency("99"), "requests": int(total.group(1)) if total else 0,
            "errors": int(non2xx.group(1)) if non2xx else 0, "raw": out}


def single_with_threads(port: int, token: str, *, seconds: int, connections: int, members: int, phase: str) -> dict:
    rng = random.Random(7)
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    bodies = []
    for k in range(int(seconds * 800)):
        author = rng.randrange(members)
        bodies.append(json.dumps({
            "source": "bench-single", "event_id": f"{phase}-{k}", "type": "vote_up", "occurred_at": now.isoformat(),
            "member": {"external_id": f"u-{rng.randrange(members)}"},
            "target_content": {"external_id": f"c-{author}", "topic": "api", "author": {"external_id": f"u-{author}"}},
        }).encode())
    deadline = time.perf_counter() + seconds
    latencies, errors = [], 0

    def worker(chunk):
        out = []
        for body in chunk:
            if time.perf_counter() > deadline:
                break
            out.append(http_post(port, body, token))
        return out

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        for part in pool.map(worker, [bodies[i::connections] for i in range(connections)]):
            for status, elapsed in part:
                latencies.append(elapsed * 1000)
                errors += status >= 300
    elapsed = time.perf_counter() - started
    return {"driver": f"{connections} Python threads", "rps": len(latencies) / elapsed, "requests": len(latencies),
            "p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99), "errors": errors}


def process_stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def celery_start(env: dict[str, str]) -> subprocess.Popen:
    """A Celery worker as production runs it (`make worker`), 2 prefork processes, on a flushed broker."""
    import redis
    from celery import Celery

    redis.Redis.from_url(BROKER).flushdb()
    binary = str(Path(sys.executable).parent / "celery")
    proc = subprocess.Popen(
        [binary, "-A", "settings", "worker", "--pool", "prefork", "--concurrency", "2", "--loglevel", "WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    ping = Celery("bench-ping", broker=BROKER)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery exited: {proc.stderr.read().decode()[-2000:]}")
        if ping.control.ping(timeout=0.5):
            return proc
    proc.terminate()
    raise RuntimeError("the Celery worker did not start")


def children(pid: int) -> list[int]:
    """The live children of a process, whichever of its threads started them."""
    found = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(p) for p in f.read().split()]
        except OSError:
            continue
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds a process, its live children and the children it has reaped (cutime + cstime: a gunicorn worker
    or a Celery pool process replaced meanwhile) have used."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return process_cpu(pid) + reaped + sum(process_cpu(child) for child in children(pid))


def server_cpu(server_pids: list[int] | dict[str, int], connection) -> dict[str, float]:
    """CPU seconds used so far by each kind of server process, with its children: web (gunicorn) and celery (a list
    of their two pids), or each named process (a dict name -> pid), and postgres (every other PostgreSQL backend on
    the bench database), and their "total"."""
    named = server_pids if isinstance(server_pids, dict) else dict(zip(("web", "celery"), server_pids))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        backends = [row[0] for row in cursor.fetchall()]
    cpu = {"postgres": sum(process_cpu(pid) for pid in backends)}
    for name, pid in named.items():
        cpu[name] = tree_cpu(pid)
    cpu["total"] = sum(cpu.values())
    return cpu


def cpu_split(before: dict[str, float], after: dict[str, float], per: float) -> str:
    """The CPU each kind of process used between two server_cpu readings, in ms per `per` units of work."""
    return ", ".join(f"{name} {1000 * (after[name] - before[name]) / per:.1f}" for name in after if name != "total")


def scored_wait(timeout: float = 120.0) -> float:
    """Wait until no action is waiting for its scorer; returns when that was (perf_counter)."""
    from community_scoring.models import InterestPending

    deadline = time.perf_counter() + timeout
    while InterestPending.objects.exists():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"actions still unscored after {timeout:.0f}s")
        time.sleep(0.01)
    return time.perf_counter()


def single_phase(port: int, token: str, args, Action, connection, label: str, server_pids: list[int]) -> None:
    for k in range(20):  # warm both workers (imports, connections, caches) before measuring
        http_post(port, json.dumps({"source": "bench-warmup", "event_id": f"{label}-{k}", "type": "read",
                                    "occurred_at": datetime.now(timezone.utc).isoformat(),
                                    "member": {"external_id": f"u-{k}"}}).encode(), token)
    scored_wait()
    before = Action.objects.filter(source="bench-single").count()
    cpu_before = server_cpu(server_pids, connection)
    driver = single_with_wrk if shutil.which("wrk") and not args.no_wrk else single_with_threads
    started = time.perf_counter()
    result = driver(port, token, seconds=args.single_seconds, connections=args.connections, members=args.members,
                    phase=re.sub(r"\W+", "", label)[-24:])
    answered = time.perf_counter()
    lag = scored_wait() - answered
    cpu_after = server_cpu(server_pids, connection)
    cpu = cpu_after["total"] - cpu_before["total"]
    stored = Action.objects.filter(source="bench-single").count() - before
    print(f"\nsingle events over HTTP, {label} ({gunicorn_label()}, {result['driver']}): {result['rps']:,.0f} POSTs/s, "
          f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms; {result['requests']} requests, "
          f"{result['errors']} non-2xx; {stored} actions stored, all scored {lag * 1000:.0f} ms after the last "
          f"answer ({result['requests'] / (answered - started + lag):,.0f} POSTs/s counted until then)")
    if result["requests"] and cpu > 0:
        per = 1000 * cpu / result["requests"]
        print(f"  server CPU per POST (web and Celery workers + their PostgreSQL backends): {per:.1f} ms "
              f"({cpu_split(cpu_before, cpu_after, result['requests'])}), i.e. at most {2000 / per:,.0f} POSTs/s if "
              f"the 2 cores did nothing else (commit fsync waits not included)")
    connection.close()


def batched_phase(port: int, token: str, bodies: list[bytes], args, connection, label: str,
                  server_pids: list[int]) -> None:
    warm = args.http_warm_batches
    for body in bodies[:warm]:  # both workers warm; this source's members and contents mostly known
        assert http_post(port, body, token)[0] == 200
    scored_wait()
    cpu_before = server_cpu(server_pids, connection)
    started = time.perf_counter()
    with ThreadPoolExecutor(args.http_clients) as pool:
        outcomes = list(pool.map(lambda b: http_post(port, b, token), bodies[warm:]))
    answered = time.perf_counter()
    done = scored_wait()
    cpu_after = server_cpu(server_pids, connection)
    cpu = cpu_after["total"] - cpu_before["total"]
    assert all(status == 200 for status, _ in outcomes), outcomes
    lat = [t for _, t in outcomes]
    n = 1000 * len(outcomes)
    print(f"\nbatched over HTTP, {label} ({gunicorn_label()}, {args.http_clients} clients, {len(outcomes)} batches of "
          f"1,000 after {warm} warm-up batches): {n / (done - started):,.0f} events/s counted until the last one was "
          f"scored ({(done - answered) * 1000:.0f} ms after the last answer; answers alone {n / (answered - started):,.0f}"
          f" events/s); per batch p50 {pct(lat, 50) * 1000:.0f} ms, p99 {pct(lat, 99) * 1000:.0f} ms")
    print(f"  server CPU per 1,000 events (web and Celery workers + their PostgreSQL backends): "
          f"{1000 * cpu / len(outcomes):.0f} ms ({cpu_split(cpu_before, cpu_after, len(outcomes))}), i.e. at most "
          f"{2000 * len(outcomes) / cpu:,.0f} events/s on 2 idle cores")
    connection.close()


def analyze_if_no_autovacuum(connection) -> None:
    """PostgreSQL keeps planner statistics up to date with autovacuum; a server running without it (as this box's
    does) plans every statement blind. Do what autovacuum would have done after phase 1's ~40,000 events."""
    from community_scoring.checks import autovacuum_on

    if not autovacuum_on(None, databases=[connection.alias]):
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"\nautovacuum is off on this server: ANALYZE run once, as autovacuum would ({time.perf_counter() - started:.1f}s; "
          f"BENCH_ANALYZE=0 skips it)")
    connection.close()


def counted_totals() -> tuple[int, int]:
    """(actions stored that earn their actor something: not inactivity, not self-targeted; actions counted in the
    actors' buckets): services.audit's rule, which `manage.py audit_interest` checks too."""
    from community_scoring.services.audit import actions_counted_totals

    return actions_counted_totals()


def counted_once_check(connection, *, before: tuple[int, int] = (0, 0)) -> bool:
    """Every action stored since counted_totals() said `before` is in its actor's buckets exactly once (self-targeted
    ones earn nothing); says so, or what differs."""
    stored, in_buckets = (now - then for now, then in zip(counted_totals(), before))
    connection.close()
    if in_buckets != stored:
        print(f"\ncheck FAILED: {stored:,} actions stored, {in_buckets:,} counted in their actors' buckets")
        return False
    print(f"\ncheck: all {stored:,} actions stored are counted once in their actors' buckets")
    return True


def peer_insert_seconds(connection, *, source: str, batch: int) -> float:
    """Seconds to write the stored actions of `source` again, `batch` rows per INSERT ... SELECT FROM unnest, into
    a scratch copy of the action table with the same indexes: the floor any ingest of those events pays."""
    from django.db.transaction import atomic

    from community_scoring.store.bulk import pg_array

    columns = ["member_id", "action_type_id", "occurred_at", "target_member_id", "target_content_id", "topic", "text",
               "metadata", "source", "external_event_id", "recorded_at"]
    types = ["bigint", "varchar", "timestamptz", "bigint", "bigint", "varchar", "text", "jsonb", "varchar", "varchar",
             "timestamptz"]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_peer_action")
        cursor.execute("CREATE TABLE bench_peer_action (LIKE community_scoring_action INCLUDING ALL)")
        cursor.execute(f"SELECT {', '.join(columns)} FROM community_scoring_action WHERE source = %s ORDER BY id", [source])
        rows = [(*r[:2], r[2].isoformat(), *r[3:7], json.dumps(r[7]) if not isinstance(r[7], str) else r[7], r[8],
                 r[9], r[10].isoformat()) for r in cursor.fetchall()]
        sql = (f"INSERT INTO bench_peer_action ({', '.join(columns)}) SELECT * FROM unnest("
               + ", ".join(f"%s::{t}[]" for t in types) + ")")
        elapsed = 0.0
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            started = time.perf_counter()
            with atomic():
                cursor.execute(sql, [pg_array(column) for column in zip(*chunk)])
            elapsed += time.perf_counter() - started
        cursor.execute("DROP TABLE bench_peer_action")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 through the view in process")
    parser.add_argument("--http-batches", type=int, default=126, help="batches of 1,000 through gunicorn")
    parser.add_argument("--http-warm-batches", type=int, default=6, help="of which sent first, one by one, untimed")
    parser.add_argument("--http-clients", type=int, default=4, help="concurrent batch clients")
    parser.add_argument("--single-seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32, help="concurrent single-event clients")
    parser.add_argument("--async-commit-seconds", type=int, default=8,
                        help="also run single events with INGEST_ASYNC_COMMIT=true for this long (0: skip)")
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--no-wrk", action="store_true", help="drive single events with Python threads even if wrk exists")
    parser.add_argument("--contents", type=int, default=20000)
    parser.add_argument("--scoring", default="worker,inline",
                        help="scoring modes to run the HTTP phases with, in order (worker: Celery; inline)")
    args = parser.parse_args()

    env = environment()
    t0 = time.perf_counter()
    database_recreate(f"{PG}/{DB_NAME}")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from community_scoring.models import Action, InterestBucket, InterestScore
    from community_scoring.services.ingest import actions_ingest
    from community_scoring.services.tokens import token_issue
    from forum_integration.api.serializers import event_parse

    call_command("migrate", verbosity=0)
    _, token = token_issue(name="bench-ingest", role="ingest")
    print(f"database {DB_NAME} created and migrated in {time.perf_counter() - t0:.1f}s "
          f"(PostgreSQL {connection.pg_version // 10000}); {os.cpu_count()} CPUs; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} before starting")

    rng = random.Random(42)
    now = datetime.now(timezone.utc)
    size = 1000
    batches = [events_make(rng, i * size, size, members=args.members, contents=args.contents, source="bench",
                           now=now) for i in range(args.batches)]
    bodies = [json.dumps({"events": b}).encode() for b in batches]

    # 1. batched, in process, through the real view.
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    warm = dict(batches[0][0], source="bench-warmup")
    client.post(URL, json.dumps(warm).encode(), content_type="application/json")  # connect, import, compile
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    times = []
    cpu_app = cpu_db = 0.0
    for body in bodies:
        started, app0, db0 = time.perf_counter(), time.process_time(), process_cpu(backend)
        response = client.post(URL, body, content_type="application/json")
        times.append(time.perf_counter() - started)
        cpu_app += time.process_time() - app0
        cpu_db += process_cpu(backend) - db0
        assert response.status_code == 200, response.content[:500]
        statuses = {r["status"] for r in response.json()["results"]}
        assert statuses == {"created"}, statuses
    total = sum(times)
    n_events = size * len(bodies)
    print(f"\nbatched via the view (in process, 1 client): {n_events} events in {total:.2f}s = "
          f"{n_events / total:,.0f} events/s; per batch of 1,000 p50 {pct(times, 50) * 1000:.0f} ms, "
          f"p99 {pct(times, 99) * 1000:.0f} ms (first {times[0] * 1000:.0f} ms: new members/contents)")
    per_k = 1000 * (cpu_app + cpu_db) / len(bodies)
    print(f"  CPU per 1,000 events: Django process {1000 * cpu_app / len(bodies):.0f} ms + its PostgreSQL backend "
          f"{1000 * cpu_db / len(bodies):.0f} ms = {per_k:.0f} ms (wall {1000 * total / len(bodies):.0f} ms; the gap is "
          f"waiting for CPU and disk on a shared box): {1_000_000 / per_k:,.0f} events/s per busy core")
    steady = times[len(times) // 2:]
    print(f"  second half only (members and contents mostly known): {size * len(steady) / sum(steady):,.0f} events/s")

    retry = bodies[: min(10, len(bodies))]
    started = time.perf_counter()
    for body in retry:
        response = client.post(URL, body, content_type="application/json")
        assert {r["status"] for r in response.json()["results"]} == {"duplicate"}
    elapsed = time.perf_counter() - started
    print(f"  retried batches (all duplicates, nothing double-counted): {size * len(retry) / elapsed:,.0f} events/s")

    # The service alone: the same kind of batches, parsed, then actions_ingest (no HTTP, no JSON).
    service_batches = [events_make(rng, 10_000_000 + i * size, size, members=args.members, contents=args.contents,
                                   source="bench-svc", now=now) for i in range(10)]
    parse_time = ingest_time = 0.0
    for batch in service_batches:
        started = time.perf_counter()
        parsed = [event_parse(e)[0] for e in batch]
        parse_time += time.perf_counter() - started
        started = time.perf_counter()
        results = actions_ingest(events=parsed)
        ingest_time += time.perf_counter() - started
        assert {r.status for r in results} == {"created"}
    n = size * len(service_batches)
    print(f"  of which: event_parse {parse_time / len(service_batches) * 1000:.1f} ms and actions_ingest "
          f"{ingest_time / len(service_batches) * 1000:.1f} ms per 1,000 (service alone: {n / ingest_time:,.0f} events/s)")
    peer = peer_insert_seconds(connection, source="bench-svc", batch=size)
    print(f"  peer (this machine's speed right now; it drifts with other tenants' load): the same {n:,} actions' rows "
          f"alone, 1,000 per INSERT ... SELECT unnest into a copy of the action table and its indexes: "
          f"{n / peer:,.0f} rows/s; actions_ingest takes {ingest_time / peer:.1f}x as long")
    from forum_integration.api.serializers import EventSerializer
    started = time.perf_counter()
    serializer = EventSerializer(data=service_batches[0], many=True)
    serializer.is_valid()
    print(f"  (for comparison, DRF EventSerializer(many=True) validation of 1,000: "
          f"{(time.perf_counter() - started) * 1000:.0f} ms — why the view parses with event_parse)")

    counted = InterestBucket.objects.filter(received=False).exclude(action_type="inactivity")
    bucket_count = sum(counted.values_list("count", flat=True))
    actions = Action.objects.count()
    print(f"  check: {actions} actions stored; actor buckets count {bucket_count} actions "
          f"(self-targets excluded); {InterestScore.objects.count()} members with an interest score")
    connection.close()

    # 2 and 3: gunicorn, 2 workers; scoring by a Celery worker, or inline.
    if os.environ.get("BENCH_ANALYZE", "1") == "1":
        analyze_if_no_autovacuum(connection)
    for k, mode in enumerate(args.scoring.split(",")):
        mode_env = {**env, "INTEREST_SCORING": mode}
        if mode == "worker":
            mode_env.update(CELERY_BROKER_URL=BROKER, CELERY_RESULT_BACKEND="")
        procs = [celery_start(mode_env)] if mode == "worker" else []
        port = free_port()
        procs.insert(0, gunicorn_start(mode_env, port))
        label = "scored by a Celery worker" if mode == "worker" else "scored inline"
        try:
            http_bodies = [json.dumps({"events": events_make(
                rng, 20_000_000 + (k * 1000 + i) * size, size, members=args.members, contents=args.contents,
                source="bench-http", now=now)}).encode() for i in range(args.http_batches)]
            batched_phase(port, token, http_bodies, args, connection, label, [p.pid for p in procs])
            single_phase(port, token, args, Action, connection, f"durable commits, {label}", [p.pid for p in procs])
            if args.async_commit_seconds and k == 0:
                process_stop(procs[0])
                port = free_port()
                procs[0] = gunicorn_start({**mode_env, "INGEST_ASYNC_COMMIT": "true"}, port)
                seconds, args.single_seconds = args.single_seconds, args.async_commit_seconds
                single_phase(port, token, args, Action, connection, f"INGEST_ASYNC_COMMIT=true, {label}",
                             [p.pid for p in procs])
                args.single_seconds = seconds
        finally:
            for p in procs:
                process_stop(p)
    if not counted_once_check(connection):
        raise SystemExit(1)
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (others' work counts too)")
    print(f"\ntotal run {time.perf_counter() - t0:.0f}s. Targets: batched >= 10,000 events/s, single >= 500 POSTs/s.")


if __name__ == "__main__":
    main()
