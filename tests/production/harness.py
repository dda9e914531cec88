"""What the fault and two-stack runs share: a stack's environment, private PostgreSQL and Redis servers, a client
that retries as a real integration does, and the checks made afterwards (nothing lost, nothing counted twice, every
score equal to the log, nothing pending)."""
from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psycopg2

from bench.ingest import events_make, free_port
from deploy.stack import ROOT, manage, port_wait

SECRET = "production-tests-only-" + "k" * 40
SHARED_PG = os.environ.get("PRODUCTION_TEST_PG", "postgres://postgres@127.0.0.1:5432")
LOG_DIR = ROOT / "var" / "production-tests"
SOURCE = "faults"  # the source of every event these runs send


def stack_env(*, database_url: str, broker_url: str, cache_url: str) -> dict[str, str]:
    """settings.prod as the stacks here run it: real secret and hosts, throttles out of the way (this is not a
    rate-limit test), scoring by the workers."""
    return {
        "DJANGO_SETTINGS_MODULE": "settings.prod",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CACHE_URL": cache_url,
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_COOKIES": "false",
        "API_THROTTLE_RATE": "10000000/min",
        "API_ANON_THROTTLE_RATE": "10000000/min",
        "INTEREST_SCORING": "worker",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "8",
        "LOG_LEVEL": "WARNING",
    }


def token_issue(env: dict[str, str], role: str) -> str:
    return manage(env, "issue_token", f"{role}-{random.randrange(10**9)}", "--role", role).stdout.strip()


# ---------------------------------------------------------------------------------------------------- private servers
class PrivatePostgres:
    """A PostgreSQL cluster of the test's own: initdb and pg_ctl on a temporary data directory, as the postgres user
    (they refuse to run as root). The shared server is left alone."""

    def __init__(self):
        self.bin = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                       check=True).stdout.strip())
        self.dir = Path(tempfile.mkdtemp(prefix="cs-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"

    def _as_postgres(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, check=check)

    def init(self) -> PrivatePostgres:
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync")
        return self

    def start(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.dir / "log"),
                          "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                                "-c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-m", mode, "stop", check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server of the test's own on another port, keeping nothing on disk (as the machine's)."""

    def __init__(self):
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_wait(self.port, timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


# --------------------------------------------------------------------------------------------------------- the client
def batches_make(rng: random.Random, *, batches: int, size: int, members: int, first: int = 0) -> list[list[dict]]:
    """``batches`` batches of ``size`` new events (bench/ingest.py's events_make, numbered from ``first``) by
    ``members`` members, from the source the checks count (SOURCE). A tenth of the events change their member's
    profile (attributes, so fit): a batch whose changes commit just before PostgreSQL is lost must still have them
    re-evaluated, though its resend changes nothing (the store queues them with the commit)."""
    now = datetime.now(timezone.utc)
    return [events_make(rng, first + i * size, size, members=members, contents=members, source=SOURCE, now=now)
            for i in range(batches)]


def post_json(port: int, path: str, token: str) -> dict:
    """POST without a body (start a job), expecting 202; the answer's JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, headers={"Authorization": f"Token {token}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 202, body
    return json.loads(body)


@dataclass
class Client:
    """Posts batches as an integration does: until every event in it is answered created or duplicate. Counts the
    errors it saw (status or connection), so a run can show the fault was felt and nothing was silently dropped."""

    port: int
    token: str
    errors: Counter = field(default_factory=Counter)
    accepted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, events: list[dict], *, deadline: float = 180.0) -> None:
        body = json.dumps({"events": events}).encode()
        give_up = time.monotonic() + deadline
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("POST", "/api/v1/events/", body=body, headers={
                    "Content-Type": "application/json", "Authorization": f"Token {self.token}"})
                response = conn.getresponse()
                payload = response.read()
                conn.close()
                if response.status == 200:
                    results = json.loads(payload)["results"]
                    bad = [r for r in results if r["status"] not in ("created", "duplicate")]
                    assert not bad, bad[:3]  # a valid event is never refused
                    with self.lock:
                        self.accepted += len(results)
                    return
                with self.lock:
                    self.errors[str(response.status)] += 1
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.errors[type(exc).__name__] += 1
            if time.monotonic() > give_up:
                raise AssertionError(f"a batch was never accepted; errors seen: {dict(self.errors)}")
            time.sleep(0.5)


def ingest(client: Client, batches: list[list[dict]], *, meanwhile=None, threads: int = 3) -> None:
    """Post the batches from a few threads while ``meanwhile()`` (a fault, say) runs in this one; returns once every
    batch was accepted, re-raising a client's failure."""
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(client.post, batch) for batch in batches]
        if meanwhile is not None:
            meanwhile()
        for future in futures:
            future.result()


# --------------------------------------------------------------------------------------------------------- the checks
def actions_stored(database_url: str, source: str = SOURCE) -> tuple[int, int]:
    """(actions stored from ``source``, distinct event ids among them)."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT external_event_id) FROM community_scoring_action "
                       "WHERE source = %s", [source])
        return cursor.fetchone()


def audit_until_ok(env: dict[str, str], *, timeout: float = 150.0) -> dict:
    """Run `manage.py audit_interest` until it passes (scoring catches up, resumed jobs finish); fail with its last
    report when it does not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        done = manage(env, "audit_interest", check=False)
        report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {"error": done.stderr[-2000:]}
        if done.returncode == 0:
            return report
        if time.monotonic() > deadline:
            raise AssertionError(f"the scores never matched the log: {report}")
        time.sleep(2)


def wait_for(condition, *, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def query(database_url: str, sql: str, params=()) -> list[tuple]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
