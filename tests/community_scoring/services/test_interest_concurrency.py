"""Concurrent batches on the same members (real PostgreSQL transactions in threads): no lost update, no deadlock."""
import random
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from community_scoring.models import Action, InterestBucket, InterestScore
from community_scoring.services.interest import interest_apply
from community_scoring.services.recompute import interest_recompute
from tests.community_scoring.services.interest_helpers import T0, install_test_config
from tests.factories import ContentFactory, MemberFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_lose_nothing():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    install_test_config()
    members = [MemberFactory() for _ in range(6)]
    posts = [ContentFactory(author=m, topic=f"t{i % 2}") for i, m in enumerate(members)]
    errors = []

    def ingest(worker: int) -> None:
        rng = random.Random(worker)
        try:
            for batch in range(5):
                rows = []
                for i in range(40):
                    post = rng.choice(posts)
                    rows.append(Action(
                        member=rng.choice(members), action_type_id=rng.choice(["vote_up", "comment", "answer"]),
                        occurred_at=T0 + timedelta(days=rng.uniform(0, 3)), target_content=post,
                        target_member=post.author, topic=post.topic, source="race",
                        external_event_id=f"w{worker}-{batch}-{i}",
                    ))
                rng.shuffle(rows)
                with transaction.atomic():
                    interest_apply(action_ids=[a.pk for a in Action.objects.bulk_create(rows)])
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert Action.objects.filter(source="race").count() == 800
    incremental = {s.member_id: (s.engagement, s.ref_time) for s in InterestScore.objects.all()}
    counts = dict(InterestBucket.objects.values_list("member_id").annotate(n=Sum("count")))
    interest_recompute(now=T0 + timedelta(days=3))  # values everyone at day 3, the latest possible bucket start
    for score in InterestScore.objects.all():
        engagement, ref = incremental[score.member_id]
        at_day_3 = engagement * 2 ** (-((score.ref_time - ref).total_seconds() / 86400) / 10)
        assert at_day_3 == pytest.approx(score.engagement, rel=1e-9)
    assert dict(InterestBucket.objects.values_list("member_id").annotate(n=Sum("count"))) == counts
