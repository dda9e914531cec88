"""The PostgreSQL interest engine (interest_pg, arithmetic inside the database) equals the Python reference
(interest_apply_python) on the same batches: buckets, topics, scores, stages, transitions and webhooks."""
from datetime import timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community_scoring.models import (
    Action, InterestBucket, InterestScore, InterestTopic, Member, StageTransition,
)
from community_scoring import bulk
from community_scoring.services import interest
from community_scoring.services.interest import interest_apply_python
from community_scoring.services.interest_pg import interest_apply_ids
from tests.community_scoring.services.interest_helpers import T0, install_test_config
from tests.factories import ContentFactory, MemberFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL engine")

TYPES = ["answer", "vote_up", "vote_down", "signup", "comment", "follow", "unsubscribe", "inactivity", "read"]
TOPICS = ["", "python", "go", "Zeta", "alpha"]

event = st.tuples(
    st.integers(0, 4),                    # actor
    st.sampled_from(TYPES),
    st.floats(0, 40, allow_nan=False),    # days after T0
    st.integers(-1, 6),                   # target: -1 none, 0..4 a member, 5..6 a content
    st.sampled_from(TOPICS),
)


def stored_state():
    """Every interest row, keyed so the two engines' results compare (floats rounded to 9 significant digits)."""
    def r(x):
        return None if x is None else float(f"{x:.9g}")

    return {
        "buckets": {(b.member_id, b.action_type_id, b.received, b.day): (b.count, r(b.raw_points), r(b.points),
                                                                         b.topic_counts)
                    for b in InterestBucket.objects.all()},
        "topics": {(t.member_id, t.topic): (r(t.points), t.ref_time) for t in InterestTopic.objects.all()},
        "scores": {s.member_id: (r(s.engagement), s.ref_time, r(s.fit), r(s.score), s.stage, s.primary_topic,
                                 s.last_activity_at, s.config_version) for s in InterestScore.objects.all()},
        "transitions": sorted((t.member_id, t.from_stage, t.to_stage, t.occurred_at, r(t.engagement), r(t.fit), t.reason)
                              for t in StageTransition.objects.all()),
    }


def interest_reset():
    for model in (InterestBucket, InterestTopic, InterestScore, StageTransition):
        model.objects.all().delete()


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(events=st.lists(event, min_size=1, max_size=50), batch=st.integers(1, 20), prepared=st.booleans())
def test_postgresql_engine_equals_python_reference(events, batch, prepared, monkeypatch):
    # Both ways of running the statements: prepared with a generic plan (small batches), planned per batch.
    monkeypatch.setattr(bulk, "PREPARED_MAX_ROWS", 10**6 if prepared else 0)
    announced = []
    monkeypatch.setattr(interest, "webhook_events_enqueue",
                        lambda *, event, payloads: announced.extend((event, p) for p in payloads))
    Member.objects.all().delete()
    install_test_config()
    members = [MemberFactory(persona=["", "developer", " Developer ", "unknown", ""][i],
                             attributes=[{}, {"job_title": "engineer"}, {}, {"company_size": 500}, {}][i])
               for i in range(5)]
    contents = [ContentFactory(author=members[0], topic="python"), ContentFactory(author=members[2], topic="")]
    batches = []
    for start in range(0, len(events), batch):
        chunk = []
        for n, (actor, action_type, day, target, topic) in enumerate(events[start:start + batch], start):
            content = contents[target - 5] if target >= 5 else None
            target_member = members[target] if 0 <= target <= 4 else (content.author if content else None)
            chunk.append(Action(
                member=members[actor], action_type_id=action_type, occurred_at=T0 + timedelta(days=day),
                target_member=target_member, target_content=content,
                topic=(content.topic if content else topic), source="prop", external_event_id=f"p{n}",
            ))
        batches.append(Action.objects.bulk_create(chunk))

    for chunk in batches:
        interest_apply_python(actions=chunk)
    python_state, python_webhooks = stored_state(), list(announced)
    interest_reset()
    announced.clear()
    for chunk in batches:
        interest_apply_ids([a.pk for a in chunk])
    sql_state = stored_state()

    assert sql_state["buckets"] == python_state["buckets"]
    assert sql_state["topics"] == python_state["topics"]
    assert sql_state["scores"] == python_state["scores"]
    assert sql_state["transitions"] == python_state["transitions"]
    assert sorted(p["member_id"] for _, p in announced) == sorted(p["member_id"] for _, p in python_webhooks)
    assert {(p["from"], p["to"], p["reason"]) for _, p in announced} == {
        (p["from"], p["to"], p["reason"]) for _, p in python_webhooks}


@pytest.mark.django_db
def test_fit_is_evaluated_for_new_score_rows_and_for_refit_members_only():
    install_test_config()
    member = MemberFactory(attributes={"job_title": "engineer"})
    first = Action.objects.create(member=member, action_type_id="comment", occurred_at=T0, source="t",
                                  external_event_id="1")
    interest_apply_ids([first.pk])
    assert InterestScore.objects.get(member=member).fit == 10  # a new row: evaluated

    Member.objects.filter(pk=member.pk).update(attributes={"job_title": "engineer", "company_size": 500})
    second = Action.objects.create(member=member, action_type_id="comment", occurred_at=T0, source="t",
                                   external_event_id="2")
    interest_apply_ids([second.pk])
    assert InterestScore.objects.get(member=member).fit == 10  # unchanged attributes as far as the engine knows

    third = Action.objects.create(member=member, action_type_id="comment", occurred_at=T0, source="t",
                                  external_event_id="3")
    interest_apply_ids([third.pk], refit=[member.pk])
    score = InterestScore.objects.get(member=member)
    assert (score.fit, score.engagement, score.score) == (25, 9, 34)
