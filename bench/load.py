#!/usr/bin/env python
"""Load: the production stack under batched ingest and reads at once, for minutes (issue 15).

What it measures, against a fresh database (cs_bench_load, or $BENCH_LOAD_DB) that it drops, creates, migrates and
fills with a community (bench/pages.py's builder: --members members, --history-actions actions over 90 days, with
interest buckets, scores, 90 days of snapshots and stage moves, and influence runs, so that every board and
audience view reads real rows):

- the stack: deploy/stack.py's Stack, i.e. deploy/Procfile's processes (gunicorn's web and ingest pools, a Celery
  worker per queue, beat)
  with settings.prod, Redis as broker ($BENCH_LOAD_BROKER, db 10) and cache ($BENCH_LOAD_CACHE, db 11), both
  flushed first; API throttles raised out of the way; tokens from `manage.py issue_token` (ingest, and a community
  manager's for reads);
- the load: locust, headless, in a subprocess (bench/locustfile.py), for --seconds: ingest users POST (to the
  ingest pool, as a reverse proxy routes /api/v1/events/) batches of
  --batch-size events of bench/ingest.py's shape (events_make: the seeded members, 30 days of history) as a
  Poisson stream (bench/locustfile.py's scheduled_pace: start times drawn uniformly over the run, so exactly the
  offered count), --events-per-second in all; read users GET --reads-per-second in all: audience views
  (/api/v1/members/<id>/, --audience-share of the reads, default half; half of them members at the top of the
  boards), and leaderboard pages (the five boards, a period, sometimes a persona). After untimed warm-up requests;
- per request kind: requests/s, p50/p95/p99/max latency (client side, including the body) and errors (a non-200,
  or a batch with any event not "created"), from every request's own timing (locust's CSVs are kept beside);
- events/s and reads/s achieved: answers over the run's --seconds, within which every request is scheduled, and
  how long after the schedule's end the last answer came (the answers kept up when it is under 2 s); the steady
  window's rate too (the run less its first and last 5 s);
- scores behind, as bench/ingest.py measures it: the time from the last answer until no action is waiting for
  its scorer (InterestPending empty; polled every 50 ms throughout, and by bench/ingest.py's scored_wait after);
  also how long the oldest waiting batch had waited at each poll during the run;
- that every action stored during the run is counted once in its actor's buckets (bench/ingest.py's check);
- CPU over the run, in cores (CPU seconds per second; contention does not inflate them): each stack process with
  its children, the bench database's PostgreSQL backends, PostgreSQL's background processes (WAL writer,
  checkpointer: the server's, shared), locust, this process, and the whole machine; what is left is other tenants'.
  The machine is shared: latency depends on what else runs, so the load average before and after is printed.

Targets: >= 2,000 events/s and >= 50 reads/s achieved (not only offered), 0 errors, p99 of reads <= 200 ms, scores
<= 2 s behind, every action counted once. Prints PASS/FAIL for each and exits 1 when one fails.
--events-per-second 0 or --reads-per-second 0 runs one side alone and prints its CPU cost per event or per read.

Usage: .venv/bin/python bench/load.py [--seconds 300] [--events-per-second 2000] [--reads-per-second 50]
       [--batch-size 200] [--members 10000] [--history-actions 1000000]
Environment: BENCH_PG, BENCH_LOAD_DB, BENCH_LOAD_BROKER, BENCH_LOAD_CACHE; the stack's own settings pass through
(WEB_CONCURRENCY, GUNICORN_THREADS, INTEREST_SCORERS, INTEREST_SCORING_LINGER, ...).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import runpy
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import (  # one definition of the events, the lag and the check
    counted_once_check,
    counted_totals,
    environment,
    events_make,
    free_port,
    http_post,
    pct,
    process_cpu,
    scored_wait,
    server_cpu,
)
from deploy.stack import BIN, Stack, database_recreate, manage

DB = os.environ.get("BENCH_LOAD_DB", "cs_bench_load")
BROKER = os.environ.get("BENCH_LOAD_BROKER", "redis://127.0.0.1:6379/10")
CACHE = os.environ.get("BENCH_LOAD_CACHE", "redis://127.0.0.1:6379/11")
OUT = ROOT / "var" / "bench-load"
TARGET_EVENTS_PER_SECOND = 2000
TARGET_READS_PER_SECOND = 50
TARGET_READ_P99_MS = 200.0
TARGET_LAG_SECONDS = 2.0
SPAWN_MARGIN = 3  # locust runs this much longer than the schedule: users spawned last still send their last requests
KEPT_UP_SECONDS = 2.0  # the last answer at most this long after the schedule's end: the offered rate was answered
SOURCE = "bench-load"  # bench/locustfile.py's
MEMBER_PREFIX = "u"  # the builder's members are u1 .. u<members>


def stack_environment() -> dict[str, str]:
    env = environment(db=DB, cache=CACHE)
    env.update(CELERY_BROKER_URL=BROKER, CELERY_RESULT_BACKEND="", INTEREST_SCORING="worker",
               API_INGEST_THROTTLE_RATE="10000000/min")
    os.environ.update(env)
    return env


def community_build(members: int, actions: int) -> None:
    """Migrate the fresh database and fill it with bench/pages.py's community."""
    from bench.api import psql
    from bench.pages import build

    started = time.perf_counter()
    manage(os.environ, "migrate", "--noinput")
    import django

    django.setup()
    print(f"building a community of {members:,} members and {actions:,} actions (bench/pages.py) ...", flush=True)
    build(DB, members, actions)
    psql("VACUUM ANALYZE", DB)
    print(f"database {DB} migrated, filled and analyzed in {time.perf_counter() - started:.0f} s", flush=True)


def token(name: str, role: str) -> str:
    return manage(os.environ, "issue_token", name, "--role", role).stdout.strip()


def gunicorn_conf(pool: str) -> dict:
    """gunicorn.conf.py's settings for a pool (web or ingest), read as gunicorn reads them in this environment."""
    saved = os.environ.get("GUNICORN_POOL")
    os.environ["GUNICORN_POOL"] = pool
    try:
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        os.environ.pop("GUNICORN_POOL") if saved is None else os.environ.update(GUNICORN_POOL=saved)


def stack_describe(stack: Stack) -> str:
    pools = ", ".join(f"{pool} {conf['workers']} x {conf['threads']} threads on :{port}" for pool, port, conf in (
        ("web", stack.port, gunicorn_conf("web")), ("ingest", stack.ingest_port, gunicorn_conf("ingest"))))
    workers = [f"{name} -c {stack.argv(name)[stack.argv(name).index('-c') + 1]}" for name in stack.commands
               if "-c" in stack.argv(name)]
    return (f"gunicorn gthread pools {pools}; Celery workers {', '.join(workers)} (prefork); beat; "
            f"INTEREST_SCORERS={os.environ.get('INTEREST_SCORERS', '2')}")


def warm_up(port: int, ingest_port: int, ingest_token: str, read_token: str, *, batch_size: int,
            members: int) -> list[int]:
    """A few untimed batches (to the ingest pool) and reads (to the web pool) through every gunicorn worker
    (imports, connections, caches); returns the member ids at the top of the interest and influence boards (the
    audience views read them most)."""
    import random
    from datetime import UTC, datetime

    import requests

    rng = random.Random(1)
    for k in range(4):
        body = json.dumps({"events": events_make(rng, k * batch_size, batch_size, members=members, contents=20_000,
                                                 source=f"{SOURCE}-warmup", now=datetime.now(UTC),
                                                 member_prefix=MEMBER_PREFIX)}).encode()
        status, _ = http_post(ingest_port, body, ingest_token)
        if status != 200:
            raise RuntimeError(f"warm-up batch answered {status}")
    top: list[int] = []
    with requests.Session() as session:
        session.headers["Authorization"] = f"Token {read_token}"
        base = f"http://127.0.0.1:{port}/api/v1"
        for board in ("interest", "influence", "advocates", "detractors", "rising") * 2:
            response = session.get(f"{base}/leaderboards/{board}/?page_size=100", timeout=60)
            response.raise_for_status()
            if board in ("interest", "influence"):
                top += [row["member"]["id"] for row in response.json()["results"]]
        for member in top[:10]:
            session.get(f"{base}/members/{member}/", timeout=60).raise_for_status()
    scored_wait()
    return sorted(set(top))


class PendingSampler(threading.Thread):
    """Polls the scoring queue (InterestPending) every `every` seconds: (epoch time after the poll, rows waiting,
    seconds the oldest has waited); and every second the PostgreSQL connections open to the bench database (gunicorn
    keeps one per thread that served a request: the server's max_connections is shared)."""

    def __init__(self, every: float = 0.05):
        super().__init__(daemon=True)
        self.every, self.samples, self.connections, self.halt = every, [], [], threading.Event()

    def run(self) -> None:
        from django.db import connection
        from django.db.models import Count, Min
        from django.utils import timezone

        from community_scoring.models import InterestPending

        try:
            while not self.halt.is_set():
                found = InterestPending.objects.aggregate(n=Count("id"), oldest=Min("created_at"))
                age = (timezone.now() - found["oldest"]).total_seconds() if found["oldest"] else 0.0
                self.samples.append((time.time(), found["n"], age))
                if len(self.samples) % round(1 / self.every) == 0:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
                        self.connections.append(cursor.fetchone()[0])
                self.halt.wait(self.every)
        finally:
            connection.close()


def postgres_background_cpu(connection) -> float:
    """CPU seconds of the PostgreSQL server's own processes (WAL writer, checkpointer, background writer, ...):
    shared by every database, driven mostly by the writes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE backend_type IN ('walwriter', 'checkpointer', "
                       "'background writer', 'autovacuum launcher', 'archiver')")  # the long-lived ones
        return sum(process_cpu(pid) for (pid,) in cursor.fetchall())


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick


def locust_run(port: int, ingest_port: int, args, users: dict[str, tuple[int, float]], tokens: dict[str, str],
               top: list[int]):
    """Run bench/locustfile.py headless for args.seconds; returns (timings, locust CPU seconds, exit code)."""
    timings = OUT / "timings.json"
    timings.unlink(missing_ok=True)
    env = {**os.environ,
           "LOAD_INGEST_TOKEN": tokens["ingest"], "LOAD_READ_TOKEN": tokens["read"],
           "LOAD_BATCH_SIZE": str(args.batch_size), "LOAD_MEMBERS": str(args.members),
           "LOAD_INGEST_USERS": str(users["ingest"][0]), "LOAD_INGEST_PACE": repr(users["ingest"][1]),
           "LOAD_READ_USERS": str(users["read"][0]), "LOAD_READ_PACE": repr(users["read"][1]),
           "LOAD_TOP_IDS": ",".join(map(str, top)), "LOAD_TIMINGS": str(timings),
           "LOAD_MEMBER_PREFIX": MEMBER_PREFIX, "LOAD_SEED": "load", "LOAD_AUDIENCE_SHARE": repr(args.audience_share),
           "LOAD_FIRST_EVENT": str(int(time.time()) * 10_000_000),  # event ids new to a reused database too
           "LOAD_SECONDS": str(args.seconds), "LOAD_INGEST_HOST": f"http://127.0.0.1:{ingest_port}"}
    total = users["ingest"][0] + users["read"][0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(OUT / "locust.log", "w") as log:
        code = subprocess.run(
            [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--users", str(total),
             "--spawn-rate", str(total), "--run-time", f"{args.seconds + SPAWN_MARGIN}s", "--stop-timeout", "60",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(OUT / "locust"), "--only-summary",
             "--loglevel", "WARNING"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
        ).returncode
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if not timings.exists():
        raise RuntimeError(f"locust wrote no timings (exit {code}); see {OUT / 'locust.log'}")
    return json.loads(timings.read_text()), cpu, code


def kinds_report(timings: list) -> tuple[dict[str, dict], float, float]:
    """Per request kind: latencies, errors, events created, and the answers and events created in the steady
    window (the run less its first and last 5 s, or tenth, when users start and stop: the offered rate there, on
    average, while the server keeps up); plus the run's first start and last answer (epoch)."""
    kinds: dict[str, dict] = defaultdict(lambda: {"ms": [], "errors": [], "created": 0, "steady": 0,
                                                  "steady_created": 0})
    first = min(start for _, start, _, _, _ in timings)
    last = max(start + ms / 1000 for _, start, ms, _, _ in timings)
    edge = min(5.0, (last - first) / 10)
    for name, start, ms, created, error in timings:
        for kind in (name,) if name.startswith("ingest") else (name, "all reads"):
            k = kinds[kind]
            k["ms"].append(ms)
            k["created"] += created
            if error:
                k["errors"].append(error)
            if first + edge <= start + ms / 1000 <= last - edge:
                k["steady"] += 1
                k["steady_created"] += created
    for k in kinds.values():
        k["steady_seconds"] = last - first - 2 * edge
    return kinds, first, last


def rates_answered(kinds: dict[str, dict], *, first: float, last: float, seconds: float) -> tuple[float, float, float]:
    """Events created per second and reads answered per second over the run's ``seconds``, within which every
    request is scheduled (bench/locustfile.py's scheduled_pace), and how long after the schedule's end the last
    answer came (``late``: the answers kept up with the offered rate when it is short)."""
    created = kinds["ingest"]["created"] if "ingest" in kinds else 0
    reads = len(kinds["all reads"]["ms"]) if "all reads" in kinds else 0
    return created / seconds, reads / seconds, max(0.0, last - (first + seconds))


class CpuMeter:
    """CPU used between start() and stop(), in cores: each stack process (with its children), the bench database's
    PostgreSQL backends, PostgreSQL's background processes, this process, and the whole machine."""

    def __init__(self, stack: Stack, connection):
        self.pids = {name: proc.pid for name, proc in stack.running.items()}
        self.connection = connection

    def _read(self) -> dict[str, float]:
        return {**server_cpu(self.pids, self.connection), "PostgreSQL background": postgres_background_cpu(
            self.connection), "this process": time.process_time(), "machine": machine_busy()[0], "wall": time.time()}

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        wall = after["wall"] - self.before["wall"]
        return {**{name: (after[name] - self.before[name]) / wall for name in after}, "wall": wall}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=300, help="length of the load (default 300)")
    parser.add_argument("--events-per-second", type=float, default=2000, help="offered ingest rate, events/s (0: none)")
    parser.add_argument("--reads-per-second", type=float, default=50, help="offered reads/s, all kinds together (0: none)")
    parser.add_argument("--batch-size", type=int, default=200, help="events per POST")
    parser.add_argument("--ingest-interval", type=float, default=4.0,
                        help="seconds between one ingest user's batches: users = rate x this (headroom for slow answers)")
    parser.add_argument("--audience-share", type=float, default=0.5,
                        help="share of the reads that are audience views (the rest leaderboard pages)")
    parser.add_argument("--read-interval", type=float, default=2.0,
                        help="seconds between one read user's reads: users = rate x this")
    parser.add_argument("--ingest-to", choices=("ingest", "web"), default="ingest",
                        help="the pool ingest is sent to: its own (as a proxy routes it; default) or the web pool that "
                             "serves the reads (one address, no proxy)")
    parser.add_argument("--members", type=int, default=10_000, help="members of the seeded community")
    parser.add_argument("--history-actions", type=int, default=1_000_000, help="seeded actions (90 days)")
    parser.add_argument("--reuse-database", action="store_true",
                        help="development: keep the database the last run left (its load included) instead of "
                             "building it again")
    return parser.parse_args()


def prepare(args: argparse.Namespace) -> tuple[dict[str, str], dict[str, str]]:
    """Flushed broker and cache, the database (fresh unless reused), and tokens: (stack environment, tokens)."""
    import redis

    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("load-*.log"):  # the stack appends: one run's logs at a time
        old.unlink()
    env = stack_environment()
    for url in (BROKER, CACHE):
        redis.Redis.from_url(url).flushdb()
    if args.reuse_database:
        import django

        django.setup()
        print(f"reusing {DB} as the last run left it (--reuse-database), migrated to this checkout")
        manage(env, "migrate", "--noinput")
    else:
        database_recreate(env["DATABASE_URL"])
        community_build(args.members, args.history_actions)
    stamp = int(time.time())  # token names are unique; a reused database keeps the last run's
    return env, {"ingest": token(f"bench-load-ingest-{stamp}", "ingest"),
                 "read": token(f"bench-load-read-{stamp}", "community_manager")}


def users_plan(args: argparse.Namespace) -> dict[str, tuple[int, float]]:
    """Users of each class and each one's pace (tasks/s): enough users that each waits its interval between tasks."""
    batches_per_second = args.events_per_second / args.batch_size
    ingest_users = math.ceil(batches_per_second * args.ingest_interval)
    read_users = math.ceil(args.reads_per_second * args.read_interval)
    return {"ingest": (ingest_users, batches_per_second / max(1, ingest_users)),
            "read": (read_users, args.reads_per_second / max(1, read_users))}


def measure(stack: Stack, args, users, tokens) -> dict:
    """Warm up, then the load; what it measured (see report)."""
    from django.db import connection

    from community_scoring.models import Action

    ingest_port = stack.ingest_port if args.ingest_to == "ingest" else stack.port
    top = warm_up(stack.port, ingest_port, tokens["ingest"], tokens["read"], batch_size=args.batch_size,
                  members=args.members)
    print(f"\nstack on 127.0.0.1:{stack.port}: {stack_describe(stack)}; ingest sent to the {args.ingest_to} pool "
          f"(:{ingest_port}); logs in {OUT}")
    print(f"load: {args.seconds} s; ingest {args.events_per_second:,.0f} events/s offered in batches of "
          f"{args.batch_size} ({users['ingest'][0]} users x {users['ingest'][1]:.3g} batches/s); reads "
          f"{args.reads_per_second:g}/s offered ({users['read'][0]} users x {users['read'][1]:.3g}/s); "
          f"{os.cpu_count()} CPUs; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} before", flush=True)
    counted_before, stored_before = counted_totals(), Action.objects.filter(source=SOURCE).count()
    meter, sampler = CpuMeter(stack, connection), PendingSampler()
    meter.start()
    sampler.start()
    started = time.time()
    timings, locust_cpu, locust_code = locust_run(stack.port, ingest_port, args, users, tokens, top)
    kinds, first, last = kinds_report(timings)
    done_perf = scored_wait()
    done = time.time() - (time.perf_counter() - done_perf)
    sampler.halt.set()
    sampler.join()
    cores = meter.stop()
    cores["locust"] = locust_cpu / (time.time() - started)
    scored = min([t for t, n, _ in sampler.samples if t >= last and n == 0] + [done])
    return {
        "kinds": kinds, "first": first, "last": last, "started": started, "requests": len(timings),
        "locust_code": locust_code, "seconds": args.seconds, "lag": scored - last, "cores": cores, "load_end": os.getloadavg(),
        "waited": [age for t, _, age in sampler.samples if first <= t <= last],
        "connections": max(sampler.connections, default=0),
        "stored": Action.objects.filter(source=SOURCE).count() - stored_before,
        "counted_once": counted_once_check(connection, before=counted_before),
        "exited": [name for name, proc in stack.running.items() if proc.poll() is not None],
    }


def report(m: dict) -> list[tuple[str, bool, str]]:
    """Print the figures; the targets, each with whether it held and the value measured."""
    kinds, window = m["kinds"], m["last"] - m["first"]
    print(f"\nlocust exited {m['locust_code']}; {m['requests']:,} requests from {m['first'] - m['started']:+.1f} s to "
          f"{m['last'] - m['started']:.1f} s after the start (stats CSVs: {OUT}/locust_*.csv)")
    print(f"\n{'kind':<24}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
          "   (req/s: answers in the steady window)")
    for name in ["ingest", *sorted(k for k in kinds if k.startswith("leaderboard")), "audience", "all reads"]:
        k = kinds.get(name)
        if k and k["ms"]:
            print(f"{name:<24}{len(k['ms']):>9,}{k['steady'] / k['steady_seconds']:>8.1f}{pct(k['ms'], 50):>9.1f}"
                  f"{pct(k['ms'], 95):>9.1f}{pct(k['ms'], 99):>9.1f}{max(k['ms']):>9.1f}{len(k['errors']):>8}")
    errors = [e for name, k in kinds.items() if name != "all reads" for e in k["errors"]]
    for error in sorted(set(errors))[:5]:
        print(f"  error: {error}")

    ingest = kinds.get("ingest") or {"created": 0, "steady_created": 0, "steady_seconds": 1.0}
    reads = kinds["all reads"]["ms"]
    seconds = m["seconds"]
    created = ingest["created"]
    events_per_second, reads_per_second, late = rates_answered(kinds, first=m["first"], last=m["last"],
                                                               seconds=seconds)
    print(f"\nevents: {events_per_second:,.0f} events/s answered created ({created:,} over the {seconds} s schedule; "
          f"{ingest['steady_created'] / ingest['steady_seconds']:,.0f}/s in the steady window, the run less its first "
          f"and last {(window - ingest['steady_seconds']) / 2:.0f} s); the last answer {late:.1f} s after the "
          f"schedule's end; {m['stored']:,} stored during the run")
    waited = m["waited"] or [0.0]
    print(f"scores behind: the last action was scored {m['lag'] * 1000:.0f} ms after the last answer; during the run "
          f"the oldest waiting batch had waited p50 {pct(waited, 50):.2f} s, p95 {pct(waited, 95):.2f} s, max "
          f"{max(waited):.2f} s ({len(m['waited']):,} polls, every 50 ms)")
    cores = m["cores"]
    stack = [name for name in cores if name not in ("total", "PostgreSQL background", "this process", "machine",
                                                    "wall", "locust")]
    measured = cores["total"] + cores["PostgreSQL background"] + cores["this process"] + cores["locust"]
    print(f"CPU over the run, in cores of {os.cpu_count()}: " + ", ".join(f"{n} {cores[n]:.2f}" for n in stack)
          + f" (stack + its PostgreSQL backends {cores['total']:.2f}); PostgreSQL's background processes "
          f"{cores['PostgreSQL background']:.2f}; locust {cores['locust']:.2f}; this process {cores['this process']:.2f};"
          f" whole machine {cores['machine']:.2f}, so {cores['machine'] - measured:.2f} for everything else "
          f"(other tenants)")
    if created and not reads:  # one kind of load alone: its cost
        print(f"  stack CPU per 1,000 events: {1e6 * cores['total'] * cores['wall'] / created:.0f} ms")
    if reads and not created:
        print(f"  stack CPU per read: {1000 * cores['total'] * cores['wall'] / len(reads):.1f} ms")
    print(f"PostgreSQL connections to {DB}: at most {m['connections']} (the server's max_connections is shared)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in m['load_end'])} (others' work counts too)")
    if m["exited"]:
        print(f"stack processes that exited during the run: {m['exited']}")

    read_p99 = pct(reads, 99) if reads else float("nan")
    return [
        (f"ingest >= {TARGET_EVENTS_PER_SECOND:,} events/s", events_per_second >= TARGET_EVENTS_PER_SECOND
         and late <= KEPT_UP_SECONDS, f"{events_per_second:,.0f}, the last answer {late:.1f} s after the schedule"),
        (f"reads >= {TARGET_READS_PER_SECOND}/s", reads_per_second >= TARGET_READS_PER_SECOND
         and late <= KEPT_UP_SECONDS, (f"{reads_per_second:.1f} (answers kept up when the last came within "
                                       f"{KEPT_UP_SECONDS:g} s of the schedule's end)")),
        ("0 errors", not errors and not m["exited"], f"{len(errors)}"),
        (f"p99 of reads <= {TARGET_READ_P99_MS:.0f} ms", read_p99 <= TARGET_READ_P99_MS, f"{read_p99:.1f} ms"),
        (f"scores <= {TARGET_LAG_SECONDS:g} s behind", m["lag"] <= TARGET_LAG_SECONDS, f"{m['lag']:.2f} s"),
        ("every action stored counted once", m["counted_once"], "see the check above"),
    ]


def main() -> int:
    args = arguments()
    env, tokens = prepare(args)
    stack = Stack("load", env=env, port=free_port(), log_dir=OUT)
    try:
        stack.start()
        measured = measure(stack, args, users_plan(args), tokens)
    finally:
        stack.stop()
    checks = report(measured)
    print("\ntargets:")
    for label, ok, value in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}: {value}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
