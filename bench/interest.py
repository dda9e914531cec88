"""Benchmark interest_apply on batches of 1,000 fresh actions (PostgreSQL by default; bounded, ~30 s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_bench_interest .venv/bin/python bench/interest.py [batches]

Creates its own database rows (source "bench"), inserts actions with bulk_create, then times interest_apply
alone and the insert + apply together, printing events/s.
"""
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.dev")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cs_bench_interest")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402


def main(batches: int = 20, batch_size: int = 1000, members: int = 5000) -> None:
    if connection.vendor == "postgresql":
        from psycopg2 import connect, sql

        settings = connection.settings_dict
        admin = connect(dbname="postgres", user=settings["USER"], host=settings["HOST"], port=settings["PORT"])
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings["NAME"]])
            if not cursor.fetchone():
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings["NAME"])))
    call_command("migrate", verbosity=0)
    from community_scoring.models import Action, Content, Member
    from community_scoring.services.interest import interest_apply

    rng = random.Random(1)
    Member.objects.bulk_create([Member(source="bench", external_id=f"b{i}", persona=rng.choice(["", "developer"]),
                                       attributes={"job_title": "engineer"}) for i in range(members)],
                               ignore_conflicts=True)
    member_ids = list(Member.objects.filter(source="bench").values_list("pk", flat=True))
    Content.objects.bulk_create([Content(source="bench", external_id=f"c{i}", author_id=rng.choice(member_ids),
                                         topic=f"topic-{i % 40}") for i in range(2000)], ignore_conflicts=True)
    contents = list(Content.objects.filter(source="bench").values_list("pk", "author_id", "topic"))
    types = ["vote_up", "read", "comment", "answer", "follow", "login", "share", "question"]
    start_event = Action.objects.filter(source="bench").count()
    now = timezone.now()
    apply_time = total_time = 0.0
    for b in range(batches):
        rows = []
        for i in range(batch_size):
            content = rng.choice(contents) if rng.random() < 0.7 else None
            rows.append(Action(
                member_id=rng.choice(member_ids), action_type_id=rng.choice(types),
                occurred_at=now - timedelta(minutes=rng.uniform(0, 60 * 24 * 3)),
                target_content_id=content[0] if content else None, target_member_id=content[1] if content else None,
                topic=content[2] if content else "", source="bench",
                external_event_id=f"e{start_event + b * batch_size + i}",
            ))
        t0 = time.perf_counter()
        with transaction.atomic():
            created = Action.objects.bulk_create(rows)
            t1 = time.perf_counter()
            interest_apply(action_ids=[a.pk for a in created])
        t2 = time.perf_counter()
        apply_time += t2 - t1
        total_time += t2 - t0
    events = batches * batch_size
    print(f"{connection.vendor}: {batches} batches of {batch_size} over {members} members: "
          f"interest_apply {events / apply_time:,.0f} events/s ({apply_time / batches * 1000:.0f} ms/batch); "
          f"bulk_create + apply {events / total_time:,.0f} events/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
