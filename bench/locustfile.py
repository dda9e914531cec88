"""The users of bench/load.py's load run, for locust (run by bench/load.py; its environment variables set them up).

- IngestUser POSTs, to the ingest pool ($LOAD_INGEST_HOST: the reverse proxy sends ingest there), batches of bench/ingest.py's events (events_make) to /api/v1/events/ at a set rate: the
  offered rate is the users' count x their rate, whatever the server's speed. A batch counts as an error unless
  every event in it is answered "created". A batch whose connection closed before any answer is sent again, once
  (ingest is idempotent); its first attempt is recorded as "ingest: resent".
- ReadUser GETs, at a set rate, a member's audience view ($LOAD_AUDIENCE_SHARE of the reads, default half; half of
  them members at the top of the boards) or else a leaderboard page (interest, influence, advocates, detractors or
  rising; a period, sometimes a persona).

Arrivals: each user's request start times are drawn at random, uniformly over the run (scheduled_pace): their
count is exactly the offered rate times the run's length, and together they are a Poisson stream of the summed rate
(independent starts, exponential gaps), from the first second on. With a fixed pace (locust's constant_throughput,
which this replaced), 100 read users started at once and, once slow answers had held them, started again together:
bursts of up to 100 requests every 2 s (vmstat: 39 runnable, then 76% idle), a harsher load than 50 reads/s that
mostly measured a burst queueing behind itself. A user never sends two requests at a time: one that falls behind its
schedule starts its next request at once, so a slow server sees its offered requests late, not fewer of them.

Every request's kind, start, duration, created events and error is written to $LOAD_TIMINGS (JSON) when locust
quits: bench/load.py computes its figures from those, not from locust's rounded percentiles.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from geventhttpclient.response import HTTPConnectionClosed
from locust import FastHttpUser, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import URL, events_make  # the events' shape, one definition

SOURCE = "bench-load"
BOARDS = ("interest", "influence", "advocates", "detractors", "rising")
PERSONAS = ("developer", "marketer", "manager", "student")
CONFIG = {name: os.environ.get(f"LOAD_{name.upper()}", "") for name in (
    "ingest_token", "read_token", "batch_size", "ingest_users", "ingest_pace", "read_users", "read_pace", "members",
    "contents", "top_ids", "timings", "member_prefix", "seed", "first_event", "audience_share", "seconds")}
# The ingest pool, as a reverse proxy routes ingest (an absolute URL: locust's --host would override a user's host)
INGEST_URL = f"{os.environ.get('LOAD_INGEST_HOST', '')}{URL}"
BATCHES = itertools.count()  # batch numbers across all users: event ids never repeat within a run
TIMINGS: list[list] = []  # [kind, start (epoch s), milliseconds, events created, error or ""]


def _number(name: str, default: float) -> float:
    return float(CONFIG[name]) if CONFIG[name] else default


def scheduled_pace(rate: float):
    """A locust wait_time: the user's start times, ``rate`` x the run's length ($LOAD_SECONDS) of them, drawn
    uniformly at random over the run when the user starts (a Poisson stream conditioned on its count). The wait
    before the user's first request is taken in on_start (``schedule_first``)."""
    def wait(user) -> float:
        starts = user._starts
        return max(0.0, starts.pop() - time.monotonic()) if starts else 3600.0  # done: idle until the run ends
    return wait


def schedule_first(user, rate: float, label: str) -> None:
    """Draw the user's start times and wait for the first one (locust runs a user's first task at once)."""
    rng = random.Random(f"{CONFIG['seed']}-schedule-{label}-{id(user)}")
    now, seconds = time.monotonic(), _number("seconds", 60.0)
    user._starts = sorted((now + rng.uniform(0.0, seconds) for _ in range(round(rate * seconds))), reverse=True)
    time.sleep(max(0.0, user._starts.pop() - now) if user._starts else seconds)  # gevent's sleep under locust


class IngestUser(FastHttpUser):
    fixed_count = int(_number("ingest_users", 1))
    abstract = fixed_count == 0  # none of them: locust leaves the class out
    wait_time = scheduled_pace(_number("ingest_pace", 1.0) or 1.0)
    batch_size = int(_number("batch_size", 200))

    def on_start(self):
        self.rng = random.Random(f"{CONFIG['seed']}-ingest-{id(self)}")
        self.headers = {"Authorization": f"Token {CONFIG['ingest_token']}", "Content-Type": "application/json"}
        schedule_first(self, _number("ingest_pace", 1.0), "ingest")

    @task
    def batch(self):
        number = next(BATCHES)
        body = json.dumps({"events": events_make(
            self.rng, int(_number("first_event", 0)) + number * self.batch_size, self.batch_size, members=int(_number("members", 10_000)),
            contents=int(_number("contents", 20_000)), source=SOURCE, now=datetime.now(UTC),
            member_prefix=CONFIG["member_prefix"] or "u-")}).encode()
        if self._post(body, resend=False):
            self._post(body, resend=True)

    def _post(self, body: bytes, *, resend: bool) -> bool:
        """POST a batch; True when the connection closed before any answer and the batch is to be sent again.

        A kept-alive connection the server closes just as the client reuses it gets no answer at all (status 0):
        a real client sends the batch again, and ingest is idempotent, so this one does too, once. That first
        attempt is recorded as "ingest: resent" (not a read, not an error); the resend as "ingest", where events
        the first attempt did store come back "duplicate" and count as answered."""
        with self.client.post(INGEST_URL, data=body, headers=dict(self.headers), name="ingest",
                              catch_response=True) as response:
            if response.status_code == 0 and not resend and connection_closed(response):
                response.request_meta["name"] = RESENT
                response.success()
                return True
            if response.status_code != 200:
                response.failure(_failure(response))
                return False
            try:
                statuses = [result["status"] for result in response.json()["results"]]
            except (ValueError, KeyError, TypeError) as error:
                response.failure(f"unreadable answer ({error!r}): {(response.text or '')[:200]}")
                return False
            created = statuses.count("created")
            response.request_meta["context"]["created"] = created
            answered = created + (statuses.count("duplicate") if resend else 0)
            if answered != len(statuses):
                response.failure(f"{len(statuses) - answered} of {len(statuses)} events not created: "
                                 f"{sorted(set(statuses))}")
            return False


class ReadUser(FastHttpUser):
    fixed_count = int(_number("read_users", 1))
    abstract = fixed_count == 0
    wait_time = scheduled_pace(_number("read_pace", 1.0) or 1.0)

    def on_start(self):
        self.rng = random.Random(f"{CONFIG['seed']}-read-{id(self)}")
        self.headers = {"Authorization": f"Token {CONFIG['read_token']}"}
        self.top = [int(i) for i in CONFIG["top_ids"].split(",") if i] or [1]
        self.members = int(_number("members", 10_000))
        schedule_first(self, _number("read_pace", 1.0), "read")

    @task
    def read(self):
        rng = self.rng
        if rng.random() < _number("audience_share", 0.5):
            member = rng.choice(self.top) if rng.random() < 0.5 else rng.randint(1, self.members)
            period = rng.choice(("30d", "30d", "7d", "90d"))
            self._get(f"/api/v1/members/{member}/?period={period}", "audience")
            return
        board = rng.choice(BOARDS)
        periods = ("30d", "7d", "90d") if board == "rising" else ("all", "all", "30d", "7d")
        query = f"period={rng.choice(periods)}"
        if rng.random() < 0.2:
            query += f"&persona={rng.choice(PERSONAS)}"
        self._get(f"/api/v1/leaderboards/{board}/?{query}", f"leaderboard:{board}")

    def _get(self, path: str, name: str) -> None:
        with self.client.get(path, headers=dict(self.headers), name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{path}: {_failure(response)}")


RESENT = "ingest: resent"  # a batch's first attempt, when the connection closed before any answer


def connection_closed(response) -> bool:
    """The request got no answer because the server closed (or reset) the connection: safe to send again."""
    return isinstance(getattr(response, "error", None), (HTTPConnectionClosed, ConnectionError))


def _failure(response) -> str:
    """What went wrong: the status and the start of the body, or the connection error (status 0)."""
    if response.status_code == 0:
        return f"no answer: {getattr(response, 'error', None)!r}"
    return f"HTTP {response.status_code}: {(response.text or '')[:200]}"


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, context=None, start_time=None,
            **kwargs):
    TIMINGS.append([name, start_time, response_time, (context or {}).get("created", 0),
                    "" if exception is None else str(exception)[:300]])


@events.quitting.add_listener
def _write(environment, **kwargs):
    if CONFIG["timings"]:
        Path(CONFIG["timings"]).write_text(json.dumps(TIMINGS))
