#!/usr/bin/env python
"""The Python around storage in POST /api/v1/events/, per 1,000-event batch of bench/ingest.py's shape.

Times, in process and without the database's work: body decoding (the view's parser), `event_parse`,
`event_errors`, response rendering (the view's renderer), and the whole view through Django's stack (token auth,
throttle, content negotiation, the real DRF view) with `actions_ingest` replaced by a stub that only validates
(event_errors) and answers "created". Also a single-event POST through the same stubbed stack.

Usage: .venv/bin/python bench/ingest_parse.py [--repeat 200]
Environment: BENCH_PG (default postgres://postgres@127.0.0.1:5432), BENCH_DB (default cs_bench_parse): created
and migrated once if missing, used only to issue a token (the stubbed view writes nothing).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import ingest as B  # noqa: E402  bench/ingest.py: the events' shape

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB", "cs_bench_parse")


def best_ms(fn, repeat: int) -> tuple[float, float]:
    """(best, median) of `repeat` runs, in ms: on a shared box the best run is the cost, the median the noise."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000, statistics.median(times) * 1000


def database_ensure() -> None:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE DATABASE {DB_NAME}")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    B.environment()
    os.environ["DATABASE_URL"] = f"{PG}/{DB_NAME}"
    database_ensure()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone as dj_timezone

    call_command("migrate", verbosity=0)
    from community_scoring.services import events as E
    from community_scoring.services.tokens import token_issue
    from forum_integration.api import views
    from forum_integration.api.serializers import event_parse

    now = datetime.now(timezone.utc)
    events = B.events_make(random.Random(7), 0, 1000, members=5000, contents=2000, source="bench", now=now)
    body = json.dumps({"events": events}).encode()
    known = frozenset(name for name, _ in B.TYPES)
    parser_cls = views.EventIngestApi.parser_classes[0]
    renderer_cls = views.EventIngestApi.renderer_classes[0]
    parsed = [event_parse(raw)[0] for raw in events]
    results = {"results": [{"event_id": e["event_id"], "status": "created", "errors": {}} for e in events]}

    def decode():
        return parser_cls().parse(io.BytesIO(body), "application/json", {"encoding": "utf-8"})

    def parse():
        for raw in events:
            event_parse(raw)

    def validate():
        t = dj_timezone.now()
        for event in parsed:
            E.event_errors(event, known_types=known, now=t)

    def render():
        return renderer_cls().render(results, "application/json", {})

    figures = {name: best_ms(fn, args.repeat) for name, fn in
               (("decode", decode), ("event_parse", parse), ("event_errors", validate), ("render", render))}

    def stub_ingest(*, events, now=None):
        t = dj_timezone.now()
        out = []
        for event in events:
            errors = E.event_errors(event, known_types=known, now=t)
            out.append(E.IngestResult(event_id=event.event_id, status=E.REJECTED if errors else E.CREATED,
                                      errors=errors))
        return out

    views.actions_ingest = views.actions_ingest_shared = stub_ingest  # small requests go through the coalescer
    _, raw = token_issue(name=f"parse-bench-{time.time_ns()}", role="ingest")
    client = Client(HTTP_AUTHORIZATION=f"Token {raw}")
    single = json.dumps(events[0]).encode()

    def post_batch():
        response = client.post(B.URL, body, content_type="application/json")
        assert response.status_code == 200, response.content[:200]

    def post_single():
        response = client.post(B.URL, single, content_type="application/json")
        assert response.status_code == 201, response.content[:200]

    post_batch(), post_single()  # warm the token and reserved-source caches
    figures["view, batch (stubbed storage)"] = best_ms(post_batch, max(20, args.repeat // 4))
    figures["view, single (stubbed storage)"] = best_ms(post_single, args.repeat * 5)
    figures["decode+parse+errors+render"] = tuple(  # type: ignore[assignment]
        sum(figures[k][j] for k in ("decode", "event_parse", "event_errors", "render")) for j in (0, 1))
    print(f"per 1,000 events ({len(body):,} bytes; single: one event); best / median of runs, ms:")
    for name, (best, median) in figures.items():
        print(f"  {name:32s} {best:7.2f} / {median:7.2f}")


if __name__ == "__main__":
    main()
