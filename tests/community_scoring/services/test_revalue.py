"""The hourly re-valuation records stage crossings caused by decay alone; the re-key refreshes the board order."""
from datetime import timedelta

import pytest

from community_scoring.models import InterestScore, StageTransition
from community_scoring.services.config import config_apply
from community_scoring.services.revalue import interest_rank_rekey, interest_revalue
from community_scoring.webhooks.models import WebhookDelivery
from community_scoring.webhooks.services import webhook_subscription_create
from tests.community_scoring.services.interest_helpers import T0, install_test_config, record, test_config_snapshot
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def config():
    install_test_config()  # half-life 10 days (developers inherit it); engaged at 20


def test_decay_alone_crosses_a_stage_at_the_next_hourly_revaluation_with_reason_decay_and_a_webhook():
    webhook_subscription_create(name="crm", url="https://crm.example.com/hook", events=["stage_changed"],
                                secret="s" * 32)
    member = MemberFactory()
    for _ in range(3):
        record(member, "answer", day=0.5)  # 24 points on day 0: engaged
    assert InterestScore.objects.get(member=member).stage == "engaged"
    # 24 * 2^(-t/10) falls below 20 at t = 10 * log2(1.2) = 2.63 days after day 0's start.
    assert interest_revalue(now=T0 + timedelta(days=2, hours=15)) == 0  # 2.625 days: 20.01, still engaged
    at = T0 + timedelta(days=2, hours=16)  # 2.667 days: 19.95
    assert interest_revalue(now=at) == 1
    transition = StageTransition.objects.filter(member=member).latest("id")
    assert (transition.from_stage, transition.to_stage, transition.reason, transition.occurred_at) == (
        "engaged", "visitor", "decay", at)
    assert transition.engagement == pytest.approx(24 * 2 ** (-(2 + 16 / 24) / 10))
    score = InterestScore.objects.get(member=member)
    assert (score.stage, score.ref_time, score.engagement) == ("visitor", at, pytest.approx(transition.engagement))
    assert score.rank_key == pytest.approx(score.engagement)  # fit 0, keyed at the same instant
    delivery = WebhookDelivery.objects.filter(event="stage_changed").latest("id")
    assert {k: delivery.payload[k] for k in ("member_id", "from", "to", "reason")} == {
        "member_id": member.pk, "from": "engaged", "to": "visitor", "reason": "decay"}
    assert interest_revalue(now=at + timedelta(hours=1)) == 0  # recorded once


def test_an_action_after_a_revaluation_adds_to_the_value_at_the_revaluation():
    member = MemberFactory()
    record(member, "answer", day=0.5)
    interest_revalue(now=T0 + timedelta(days=5))
    record(member, "comment", day=3)  # a late arrival, earlier than the re-anchored ref_time
    record(member, "comment", day=6)
    score = InterestScore.objects.get(member=member)
    expected_at_6 = 8 * 2 ** -0.6 + 3 * 2 ** -0.3 + 3
    assert score.ref_time == T0 + timedelta(days=6)
    assert score.engagement == pytest.approx(expected_at_6)


def test_rekey_values_every_key_at_one_instant_per_persona_half_life():
    snapshot = test_config_snapshot()
    snapshot["rule_sets"][1]["half_life_days"] = 40
    config_apply(snapshot=snapshot, note="developers decay slower")
    decaying, slower = MemberFactory(), MemberFactory(persona="developer")
    record(decaying, "answer", day=0)  # 8, half-life 10
    record(slower, "answer", day=0)  # 20, half-life 40
    at = T0 + timedelta(days=20)
    assert interest_rank_rekey(now=at) == 2
    keys = dict(InterestScore.objects.values_list("member_id", "rank_key"))
    assert keys == {decaying.pk: pytest.approx(8 * 2 ** -2), slower.pk: pytest.approx(20 * 2 ** -0.5)}


def test_revaluation_and_rekey_are_scheduled():
    from django_celery_beat.models import PeriodicTask

    from community_scoring.tasks import interest_rank_rekey_task, interest_revalue_task
    from settings.celeryconf import app

    revalue = PeriodicTask.objects.get(task=interest_revalue_task.name)
    assert (revalue.crontab.minute, revalue.crontab.hour, revalue.enabled) == ("5", "*", True)
    rekey = PeriodicTask.objects.get(task=interest_rank_rekey_task.name)
    assert (rekey.interval.every, rekey.interval.period, rekey.enabled) == (5, "minutes", True)
    assert interest_revalue_task.name in app.tasks and interest_rank_rekey_task.name in app.tasks
    member = MemberFactory()
    record(member, "answer", day=0.5)
    assert interest_rank_rekey_task.delay().get() == 1
    assert interest_revalue_task.delay().get() == 0  # visitor already; decays towards 0 but stays visitor


@pytest.mark.parametrize("backend", ["postgresql", "python"])
def test_the_scorer_keys_a_row_with_its_score_valued_at_the_moment_it_scores(backend, monkeypatch):
    from django.db import connection
    from django.utils import timezone

    from community_scoring import store
    from community_scoring.scoring.decay import to_epoch_days
    from community_scoring.store.postgres import PostgresInterestStore
    from community_scoring.store.python import PythonInterestStore

    if connection.vendor != "postgresql":
        pytest.skip("compares both backends on PostgreSQL")
    chosen = PostgresInterestStore() if backend == "postgresql" else PythonInterestStore()
    monkeypatch.setitem(store.BACKENDS, "postgresql", chosen)
    member = MemberFactory(attributes={"job_title": "engineer"})  # fit 10
    before = timezone.now()
    record(member, "answer", occurred_at=before - timedelta(days=5))  # 8 points, day start up to 6 days ago
    after = timezone.now()
    score = InterestScore.objects.get(member=member)
    day = to_epoch_days(score.ref_time)

    def keyed(at):
        return 8 * 2 ** (-(to_epoch_days(at) - day) / 10) + 10

    assert (score.score, keyed(before) >= score.rank_key >= keyed(after)) == (18, True)
