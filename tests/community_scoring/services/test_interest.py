"""The interest engine through the door (actions_ingest), against numbers worked out by hand (half-life 10 days)."""
from datetime import timedelta

import pytest

from community_scoring.models import Action, InterestBucket, InterestScore, StageTransition
from community_scoring.selectors.interest import interest_breakdown, interest_topics
from community_scoring.services.events import EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from tests.community_scoring.services.interest_helpers import T0, install_test_config, record
from tests.factories import ContentFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def config():
    return install_test_config()


@pytest.fixture
def webhooks(monkeypatch):
    calls = []
    monkeypatch.setattr("community_scoring.services.interest.webhook_events_enqueue",
                        lambda *, event, payloads: calls.extend((event, p) for p in payloads))
    return calls


def score_of(member):
    return InterestScore.objects.get(member=member)


def test_decay_matches_hand_computed_example():
    member = MemberFactory()
    record(member, "answer", day=0.4)   # bucket of day 0 -> decays from T0
    record(member, "answer", day=10.9)  # bucket of day 10
    score = score_of(member)
    assert score.ref_time == T0 + timedelta(days=10)
    assert score.engagement == pytest.approx(8 * 0.5 + 8)  # 12
    breakdown = interest_breakdown(member=member, when=T0 + timedelta(days=20))
    assert breakdown == [{"action_type": "answer", "received": False, "count": 2, "raw_points": 16.0,
                          "points": 16.0, "decayed_points": pytest.approx(6.0)}]


def test_daily_cap_limits_giver_and_receiver():
    voter, author = MemberFactory(), MemberFactory()
    post = ContentFactory(author=author)
    for i in range(15):
        record(voter, "vote_up", day=0.01 * i, target_content=post)
    assert score_of(voter).engagement == 10   # 15 x 1, capped at 10
    assert score_of(author).engagement == 10  # 15 x 2 received, capped at 10
    for i in range(3):
        record(voter, "vote_up", day=1.5, target_content=post)
    assert score_of(voter).engagement == pytest.approx(10 * 2 ** -0.1 + 3)
    bucket = InterestBucket.objects.get(member=author, received=True, day=T0.date())
    assert (bucket.count, bucket.raw_points, bucket.points) == (15, 30, 10)


def test_negative_points_for_actor_and_target():
    voter, author = MemberFactory(), MemberFactory()
    post = ContentFactory(author=author)
    for _ in range(3):
        record(voter, "vote_down", target_content=post)
    assert score_of(author).engagement == -6
    assert score_of(voter).engagement == 0
    record(voter, "unsubscribe")
    assert score_of(voter).engagement == -20


def test_acting_on_yourself_earns_nothing():
    member = MemberFactory()
    own = ContentFactory(author=member)
    action, created = record(member, "vote_up", target_content=own)
    assert created and action.target_member_id == member.pk
    score = score_of(member)
    assert score.engagement == 0 and score.last_activity_at == action.occurred_at
    assert not InterestBucket.objects.filter(member=member).exists()


def test_stage_transitions_up_and_down_with_webhooks(webhooks):
    member = MemberFactory(attributes={"job_title": "Software Engineer"})
    for _ in range(3):
        record(member, "answer", day=0.5)  # 24 -> engaged
    assert score_of(member).stage == "engaged"
    record(member, "unsubscribe", day=0.6)  # 4 -> visitor
    score = score_of(member)
    assert (score.engagement, score.fit, score.stage) == (4, 10, "visitor")
    history = list(StageTransition.objects.filter(member=member).order_by("id").values_list("from_stage", "to_stage"))
    assert history == [("visitor", "engaged"), ("engaged", "visitor")]
    assert [(e, p["from"], p["to"], p["member_id"]) for e, p in webhooks] == [
        ("stage_changed", "visitor", "engaged", member.pk), ("stage_changed", "engaged", "visitor", member.pk)]


def test_mql_needs_engagement_and_fit():
    fit_member = MemberFactory(attributes={"job_title": "Staff Engineer", "company_size": "500"})
    unfit_member = MemberFactory(attributes={"job_title": "Student"})
    for m in (fit_member, unfit_member):
        for day in (2.2, 3.2):
            for _ in range(6):
                record(m, "answer", day=day)  # 48, capped at 40 a day
    expected = 40 * 2 ** -0.1 + 40
    assert (score_of(fit_member).fit, score_of(fit_member).stage) == (25, "MQL")
    assert (score_of(unfit_member).fit, score_of(unfit_member).stage) == (0, "engaged")
    assert score_of(fit_member).score == pytest.approx(expected + 25)


def test_persona_rules_with_fallback():
    dev = MemberFactory(persona="developer")
    record(dev, "answer", day=0)     # persona rule: 20, no cap
    record(dev, "question", day=0)   # default rule: 5
    record(dev, "answer", day=100)   # persona set's null half-life inherits 10 days
    assert score_of(dev).engagement == pytest.approx(25 * 2 ** -10 + 20)


def test_topics_and_primary_topic():
    member = MemberFactory()
    python_post, go_post = ContentFactory(topic="python"), ContentFactory(topic="go")
    record(member, "answer", target_content=python_post)
    record(member, "answer", target_content=python_post)
    record(member, "answer", day=10, target_content=go_post)
    topics = {t["topic"]: t["points"] for t in interest_topics(member=member, when=T0 + timedelta(days=10))}
    assert topics == pytest.approx({"python": 8, "go": 8})  # 16 halved, and 8
    record(member, "comment", day=10, topic="go")
    assert score_of(member).primary_topic == "go"
    assert {t["topic"]: t["points"] for t in interest_topics(member=member, when=T0 + timedelta(days=10))} == (
        pytest.approx({"python": 8, "go": 11}))


def test_topic_shares_follow_the_cap():
    member = MemberFactory()
    posts = {"a": ContentFactory(topic="a"), "b": ContentFactory(topic="b")}
    for topic in "aaab":  # 4 comments x 3 = 12, under the cap of 15
        record(member, "comment", target_content=posts[topic])
    for topic in "bb":  # 6 comments = 18 raw -> 15; a gets 15 * 3/6, b 15 * 3/6
        record(member, "comment", target_content=posts[topic])
    topics = {t["topic"]: t["points"] for t in interest_topics(member=member, when=T0)}
    assert topics == pytest.approx({"a": 7.5, "b": 7.5})


def test_same_event_twice_counts_once():
    member = MemberFactory()
    _, first = record(member, "answer", event_id="same")
    _, second = record(member, "answer", event_id="same")
    assert (first, second) == (True, False)
    assert score_of(member).engagement == 8
    assert InterestBucket.objects.get(member=member).count == 1


def test_once_only_credit_moves_to_an_earlier_late_event():
    member = MemberFactory()
    record(member, "signup", day=5)
    record(member, "signup", day=6)
    assert score_of(member).engagement == pytest.approx(5 * 2 ** -0.1)  # valued on day 6
    record(member, "signup", day=2)  # arrives late but happened first
    points = dict(InterestBucket.objects.filter(member=member).values_list("day", "points"))
    assert points == {(T0 + timedelta(days=2)).date(): 5, (T0 + timedelta(days=5)).date(): 0,
                      (T0 + timedelta(days=6)).date(): 0}
    score = score_of(member)
    assert score.ref_time == T0 + timedelta(days=6)
    assert score.engagement == pytest.approx(5 * 2 ** -0.4)


def test_action_type_without_rule_is_logged_with_zero_points():
    member = MemberFactory()
    _, created = record(member, "login")
    assert created
    bucket = InterestBucket.objects.get(member=member)
    assert (bucket.action_type_id, bucket.count, bucket.points) == ("login", 1, 0)
    assert score_of(member).engagement == 0


def test_bad_action_type_or_member_is_rejected_naming_the_field():
    day = T0 + timedelta(days=1)
    teleport, no_member = actions_ingest(events=[
        EventIn(source="test", event_id="1", type="teleport", occurred_at=day, member=MemberIn(external_id="m")),
        EventIn(source="test", event_id="2", type="answer", occurred_at=day, member=None),
    ])
    assert teleport.status == no_member.status == "rejected"
    assert list(teleport.errors) == ["type"] and "teleport" in teleport.errors["type"][0]
    assert no_member.errors == {"member": ["required"]}
    assert not InterestScore.objects.exists() and not Action.objects.exists()


def test_stage_change_queues_a_webhook_delivery_for_subscribers():
    from community_scoring.webhooks.models import WebhookDelivery
    from community_scoring.webhooks.services import webhook_subscription_create

    webhook_subscription_create(name="crm", url="https://crm.example.com/hook", events=["stage_changed"],
                                secret="s" * 32)
    member = MemberFactory()
    for _ in range(3):
        record(member, "answer", day=0.5)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "stage_changed"
    assert {k: delivery.payload[k] for k in ("member_id", "from", "to", "engagement", "reason")} == {
        "member_id": member.pk, "from": "visitor", "to": "engaged", "engagement": 24, "reason": "action"}
