"""Interest selectors: the activity profile adds up to the score; topics, stage and score history."""
from datetime import timedelta

import pytest

from community_scoring.selectors.interest import (
    interest_breakdown, interest_current, interest_fit_breakdown, interest_topics, score_history, stage_history,
)
from community_scoring.services.snapshots import interest_snapshot_take
from tests.community_scoring.services.interest_helpers import T0, install_test_config, record
from tests.factories import ContentFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def config():
    return install_test_config()


def test_breakdown_explains_the_score():
    member, other = MemberFactory(), MemberFactory()
    post = ContentFactory(author=member, topic="go")
    for _ in range(12):
        record(other, "vote_up", day=0.5, target_content=post)  # 24 received, capped at 10
    for _ in range(2):
        record(member, "answer", day=10.5, target_content=ContentFactory(topic="python"))
    when = T0 + timedelta(days=20)
    rows = interest_breakdown(member=member, when=when)
    assert rows == [
        {"action_type": "answer", "received": False, "count": 2, "raw_points": 16, "points": 16,
         "decayed_points": pytest.approx(8)},
        {"action_type": "vote_up", "received": True, "count": 12, "raw_points": 24, "points": 10,
         "decayed_points": pytest.approx(2.5)},
    ]
    current = interest_current(member=member, when=when)
    assert current["engagement"] == pytest.approx(sum(r["decayed_points"] for r in rows))
    assert [t["topic"] for t in interest_topics(member=member, when=when)] == ["python", "go"]


def test_stage_and_score_history():
    member = MemberFactory()
    for _ in range(3):
        record(member, "answer", day=0.5)
    interest_snapshot_take(now=T0 + timedelta(days=1))
    interest_snapshot_take(now=T0 + timedelta(days=12))
    assert [(t.from_stage, t.to_stage, t.reason) for t in stage_history(member=member)] == [
        ("engaged", "visitor", "decay"), ("visitor", "engaged", "action")]
    history = list(score_history(member=member, since=(T0 + timedelta(days=2)).date()))
    assert [(h.date, round(h.engagement, 6)) for h in history] == [((T0 + timedelta(days=12)).date(),
                                                                     round(24 * 2 ** -1.2, 6))]


def test_fit_breakdown_lists_matching_rules():
    member = MemberFactory(attributes={"job_title": "Platform Engineer", "company_size": "1,500", "industry": "retail"})
    record(member, "answer")
    rows = interest_fit_breakdown(member=member)
    assert [(r["attribute"], r["points"], r["actual"]) for r in rows] == [
        ("job_title", 10, "Platform Engineer"), ("company_size", 15, "1,500")]
    assert sum(r["points"] for r in rows) == member.interest.fit == 25
