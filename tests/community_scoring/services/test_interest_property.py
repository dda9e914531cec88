"""Incremental updates, in any arrival order and batching, equal a full recompute from the log."""
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community_scoring.models import Action, InterestBucket, InterestScore, InterestTopic, Member
from community_scoring.scoring.decay import to_epoch_days, value_at
from community_scoring.services.interest import interest_apply
from community_scoring.services.recompute import interest_recompute
from tests.community_scoring.services.interest_helpers import T0, install_test_config
from tests.factories import ContentFactory, MemberFactory

TYPES = ["answer", "vote_up", "vote_down", "signup", "comment", "login", "follow", "unsubscribe"]
TOPICS = ["", "python", "go"]

event = st.tuples(
    st.integers(0, 3),                    # actor
    st.sampled_from(TYPES),
    st.floats(0, 40, allow_nan=False),    # days after T0
    st.integers(-1, 5),                   # target: -1 none, 0..3 a member, 4..5 a content
    st.sampled_from(TOPICS),
)


def state(members, when):
    """Every member's engagement and topics valued at `when`, and their buckets."""
    at = to_epoch_days(when)
    out = {}
    for m in members:
        score = InterestScore.objects.filter(member=m).first()
        half_life = 10  # the test config's default; the developer set inherits it
        engagement = 0.0 if score is None or score.ref_time is None else value_at(
            score.engagement, to_epoch_days(score.ref_time), at, half_life)
        topics = {t.topic: value_at(t.points, to_epoch_days(t.ref_time), at, half_life)
                  for t in InterestTopic.objects.filter(member=m) if abs(t.points) > 1e-12}
        buckets = {(b.action_type_id, b.received, b.day): (b.count, b.points)
                   for b in InterestBucket.objects.filter(member=m)}
        out[m.pk] = (engagement, topics, buckets, score.stage if score else "visitor",
                     score.last_activity_at if score else None)
    return out


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(events=st.lists(event, min_size=1, max_size=40), order=st.randoms(), batch=st.integers(1, 15))
def test_incremental_equals_recompute(events, order, batch):
    Member.objects.all().delete()
    install_test_config()
    members = [MemberFactory(persona="developer" if i == 3 else "",
                             attributes={"job_title": "engineer"} if i == 1 else {}) for i in range(4)]
    contents = [ContentFactory(author=members[0], topic="python"), ContentFactory(author=members[2], topic="")]
    actions = []
    for n, (actor, action_type, day, target, topic) in enumerate(events):
        content = contents[target - 4] if target >= 4 else None
        target_member = members[target] if 0 <= target <= 3 else (content.author if content else None)
        actions.append(Action(
            member=members[actor], action_type_id=action_type, occurred_at=T0 + timedelta(days=day),
            target_member=target_member, target_content=content,
            topic=(content.topic if content else topic), source="prop", external_event_id=f"p{n}",
        ))
    order.shuffle(actions)
    for start in range(0, len(actions), batch):
        chunk = Action.objects.bulk_create(actions[start:start + batch])
        interest_apply(actions=chunk)

    when = T0 + timedelta(days=45)
    incremental = state(members, when)
    interest_recompute(member_ids=[m.pk for m in members], now=when)
    recomputed = state(members, when)
    for m in members:
        inc, rec = incremental[m.pk], recomputed[m.pk]
        assert inc[0] == pytest.approx(rec[0], rel=1e-6, abs=1e-9)
        assert inc[1].keys() == rec[1].keys()
        assert inc[1] == pytest.approx(rec[1], rel=1e-6, abs=1e-9)
        assert inc[2] == rec[2]
        assert inc[4] == rec[4]
