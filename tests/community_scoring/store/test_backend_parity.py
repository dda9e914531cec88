"""The two interest store backends agree with each other and with the reference (a full recompute from the log by
the pure rules of community_scoring.scoring), for random event streams, batchings, arrival orders and configs,
all sent through the one door (services.ingest.actions_ingest)."""
from datetime import timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community_scoring import store
from community_scoring.models import (
    Action, Content, InterestBucket, InterestPending, InterestScore, InterestTopic, Member, StageTransition,
)
from community_scoring.scoring.decay import to_epoch_days, value_at
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.config import config_apply
from community_scoring.services.events import ContentIn, EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.recompute import interest_recompute
from community_scoring.store import bulk
from community_scoring.store.postgres import PostgresInterestStore
from community_scoring.store.python import PythonInterestStore
from tests.community_scoring.services.interest_helpers import T0, install_test_config
from tests.factories import ContentFactory, MemberFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="compares the PostgreSQL backend")

TYPES = ["answer", "vote_up", "vote_down", "signup", "comment", "follow", "unsubscribe", "read"]
TOPICS = ["", "python", "go", "Zeta"]
PERSONAS = ["", "developer", " Developer ", "unknown", ""]
ATTRIBUTES = [{}, {"job_title": "engineer"}, {}, {"company_size": 500}, {"job_title": "staff engineer"}]

rule = st.fixed_dictionaries({
    "points": st.integers(-10, 10), "target_points": st.integers(-5, 5),
    "daily_cap": st.none() | st.integers(1, 20), "once_only": st.booleans(),
})
config = st.fixed_dictionaries({
    "rules": st.dictionaries(st.sampled_from(TYPES), rule, min_size=1),
    "persona_rules": st.dictionaries(st.sampled_from(TYPES), rule, max_size=3),
    "half_life": st.none() | st.integers(1, 30),
    "persona_half_life": st.none() | st.integers(1, 30),
    "thresholds": st.lists(st.integers(1, 60), min_size=0, max_size=3, unique=True).map(sorted),
    "min_fit": st.sampled_from([0, 10, 20]),
})
event = st.tuples(
    st.integers(0, 4),                    # actor
    st.sampled_from(TYPES),
    st.floats(0, 40, allow_nan=False),    # days after T0
    st.integers(-1, 6),                   # target: -1 none, 0..4 a member, 5..6 a content
    st.sampled_from(TOPICS),
)


def snapshot_of(drawn: dict) -> dict:
    def rules(drawn_rules):
        return [{"action_type": t, **r} for t, r in sorted(drawn_rules.items())]

    fit = [{"attribute": "job_title", "operator": "contains", "value": "engineer", "points": 10},
           {"attribute": "company_size", "operator": "gte", "value": "200", "points": 15}]
    stages = [{"name": "visitor", "position": 0, "min_engagement": 0, "min_fit": 0}]
    stages += [{"name": f"s{i}", "position": i, "min_engagement": e, "min_fit": drawn["min_fit"] if i > 1 else 0}
               for i, e in enumerate(drawn["thresholds"], 1)]
    return {
        "rule_sets": [
            {"name": "Default", "persona": "", "half_life_days": drawn["half_life"], "inactivity_days": None,
             "rules": rules(drawn["rules"]), "fit_rules": fit},
            {"name": "Developers", "persona": "developer", "half_life_days": drawn["persona_half_life"],
             "inactivity_days": None, "rules": rules(drawn["persona_rules"]), "fit_rules": []},
        ],
        "stages": stages,
    }


def events_of(drawn_events, members, contents) -> list[EventIn]:
    out = []
    for n, (actor, action_type, day, target, topic) in enumerate(drawn_events):
        content = contents[target - 5] if target >= 5 else None
        out.append(EventIn(
            source="prop", event_id=f"p{n}", type=action_type, occurred_at=T0 + timedelta(days=day),
            member=MemberIn(external_id=members[actor].external_id),
            target_member=MemberIn(external_id=members[target].external_id) if 0 <= target <= 4 else None,
            target_content=ContentIn(external_id=content.external_id) if content else None,
            content=ContentIn(external_id=f"made-{topic}", topic=topic) if topic and not content else None,
        ))
    return out


def stored_state(when) -> dict:
    """Every interest row, keyed by member (ids are shared by both runs), floats to 9 significant digits; and
    each score valued at ``when``."""
    def r(x):
        return None if x is None else float(f"{x:.9g}")

    return {
        "buckets": {(b.member_id, b.action_type_id, b.received, b.day): (b.count, r(b.raw_points), r(b.points),
                                                                         b.topic_counts)
                    for b in InterestBucket.objects.all()},
        "topics": {(t.member_id, t.topic): (r(t.points), t.ref_time) for t in InterestTopic.objects.all()},
        "scores": {s.member_id: (r(s.engagement), s.ref_time, r(s.fit), r(s.score), s.stage, s.primary_topic,
                                 s.last_activity_at) for s in InterestScore.objects.all()},
        "transitions": sorted((t.member_id, t.from_stage, t.to_stage, t.occurred_at, r(t.engagement), r(t.fit))
                              for t in StageTransition.objects.all()),
    }


def valued(when, half_lives: dict[int, float | None]) -> dict:
    """Engagement and topics of every member valued at ``when`` (how a recompute and an incremental run compare)."""
    at = to_epoch_days(when)
    out = {}
    for s in InterestScore.objects.all():
        h = half_lives[s.member_id]
        engagement = 0.0 if s.ref_time is None else value_at(s.engagement, to_epoch_days(s.ref_time), at, h)
        topics = {t.topic: value_at(t.points, to_epoch_days(t.ref_time), at, h)
                  for t in InterestTopic.objects.filter(member_id=s.member_id) if abs(t.points) > 1e-9}
        buckets = {(b.action_type_id, b.received, b.day): (b.count, b.points)
                   for b in InterestBucket.objects.filter(member_id=s.member_id)}
        out[s.member_id] = (engagement, topics, buckets, s.fit, s.last_activity_at)
    return out


def interest_reset():
    for model in (Action, InterestPending, InterestBucket, InterestTopic, InterestScore, StageTransition):
        model.objects.all().delete()


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(drawn_config=config, drawn_events=st.lists(event, min_size=1, max_size=50), batch=st.integers(1, 20),
       order=st.randoms(use_true_random=False), prepared=st.booleans())
def test_backends_agree_with_each_other_and_with_a_recompute(drawn_config, drawn_events, batch, order, prepared,
                                                              monkeypatch):
    # The PostgreSQL statements both ways: prepared with a generic plan (small batches), planned per batch.
    monkeypatch.setattr(bulk, "PREPARED_MAX_ROWS", 10**6 if prepared else 0)
    interest_reset()
    Content.objects.all().delete()
    Member.objects.all().delete()
    config_apply(snapshot=snapshot_of(drawn_config), note="parity")
    members = [MemberFactory(source="prop", external_id=f"m{i}", persona=PERSONAS[i], attributes=ATTRIBUTES[i])
               for i in range(5)]
    contents = [ContentFactory(source="prop", external_id="c5", author=members[0], topic="python"),
                ContentFactory(source="prop", external_id="c6", author=members[2], topic="")]
    events = events_of(drawn_events, members, contents)
    order.shuffle(events)
    chunks = [events[start:start + batch] for start in range(0, len(events), batch)]
    when = T0 + timedelta(days=45)
    developer_half_life = drawn_config["persona_half_life"] or drawn_config["half_life"]  # null inherits
    half_lives = {m.pk: developer_half_life if m.persona.strip().lower() == "developer" else drawn_config["half_life"]
                  for m in members}

    states = {}
    for name, backend in (("postgresql", PostgresInterestStore()), ("python", PythonInterestStore())):
        monkeypatch.setitem(store.BACKENDS, "postgresql", backend)
        results = [r.status for chunk in chunks for r in actions_ingest(events=chunk)]
        assert results.count("created") == len(events)
        assert not InterestPending.objects.exists()  # every action scored (inline)
        incremental = stored_state(when)
        incremental_valued = valued(when, half_lives)
        interest_recompute(now=when)  # the reference: the pure rules over the log
        reference = valued(when, half_lives)
        assert incremental_valued.keys() <= reference.keys()  # a recompute also scores members with no action
        for member_id, ref in reference.items():
            engagement, topics, buckets, fit, last = incremental_valued.get(member_id, (0.0, {}, {}, ref[3], None))
            assert engagement == pytest.approx(ref[0], rel=1e-6, abs=1e-9), name
            for topic in topics.keys() | ref[1].keys():  # a topic worth ~0 may be stored by one and not the other
                assert topics.get(topic, 0.0) == pytest.approx(ref[1].get(topic, 0.0), rel=1e-6, abs=1e-9), name
            assert buckets == ref[2], name
            assert (fit, last) == (ref[3], ref[4]), name
        states[name] = incremental
        interest_reset()

    assert states["postgresql"] == states["python"]


@pytest.mark.django_db
def test_postgresql_evaluates_fit_for_new_score_rows_and_for_refit_members_only():
    install_test_config()
    backend = PostgresInterestStore()
    member = MemberFactory(attributes={"job_title": "engineer"})

    def comment(event_id: str) -> list[int]:
        return [Action.objects.create(member=member, action_type_id="comment", occurred_at=T0, source="t",
                                      external_event_id=event_id).pk]

    backend.interest_apply(comment("1"), config=scoring_config_current())
    assert InterestScore.objects.get(member=member).fit == 10  # a new row: evaluated

    Member.objects.filter(pk=member.pk).update(attributes={"job_title": "engineer", "company_size": 500})
    backend.interest_apply(comment("2"), config=scoring_config_current())
    assert InterestScore.objects.get(member=member).fit == 10  # unchanged attributes as far as the engine knows

    backend.interest_apply(comment("3"), config=scoring_config_current(), refit=[member.pk])
    score = InterestScore.objects.get(member=member)
    assert (score.fit, score.engagement, score.score) == (25, 9, 34)
