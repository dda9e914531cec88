"""The periodic tasks: inactivity penalties (idempotent, reproducible by recompute) and daily snapshots."""
from datetime import timedelta

import pytest

from community_scoring.models import Action, InterestScore, ScoreSnapshot, StageTransition
from community_scoring.scoring.decay import to_epoch_days, value_at
from community_scoring.services.inactivity import interest_inactivity_apply
from community_scoring.services.recompute import interest_recompute
from community_scoring.services.snapshots import interest_snapshot_take, interest_snapshots_backfill
from tests.community_scoring.services.interest_helpers import T0, install_test_config, record
from tests.factories import ContentFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def config():
    return install_test_config()  # inactivity after 30 days, penalty -10, half-life 10 days


def engagement_on(member, day):
    score = InterestScore.objects.get(member=member)
    return value_at(score.engagement, to_epoch_days(score.ref_time), to_epoch_days(T0 + timedelta(days=day)), 10)


def test_inactivity_penalty_once_per_idle_stretch():
    idle, active, dev = MemberFactory(), MemberFactory(), MemberFactory(persona="developer")
    record(idle, "answer", day=0.5)
    record(active, "answer", day=10.5)
    record(dev, "question", day=0.5)  # the developer set inherits inactivity_days=30
    assert interest_inactivity_apply(now=T0 + timedelta(days=31)) == 2
    penalty = Action.objects.get(member=idle, action_type="inactivity")
    assert penalty.source == "system"
    assert penalty.external_event_id == f"inactivity:{idle.pk}:2026-01-01"
    assert penalty.occurred_at == T0 + timedelta(days=30.5)
    assert engagement_on(idle, 30) == pytest.approx(8 * 2 ** -3 - 10)  # 1 - 10
    assert not Action.objects.filter(member=active, action_type="inactivity").exists()
    assert interest_inactivity_apply(now=T0 + timedelta(days=32)) == 0  # idempotent
    assert InterestScore.objects.get(member=idle).last_activity_at == T0 + timedelta(days=0.5)
    interest_recompute(now=T0 + timedelta(days=40))
    assert engagement_on(idle, 40) == pytest.approx((8 * 2 ** -3 - 10) * 2 ** -1)
    record(idle, "answer", day=35)  # active again: a new stretch, a new penalty 30 days later
    assert interest_inactivity_apply(now=T0 + timedelta(days=66)) == 2  # idle (again) and active
    assert Action.objects.filter(member=idle, action_type="inactivity").count() == 2


def test_daily_snapshot_revalues_decay_and_moves_stage_down():
    member = MemberFactory()
    post = ContentFactory(topic="python")
    for _ in range(3):
        record(member, "answer", day=0.5, target_content=post)  # 24 -> engaged
    assert interest_snapshot_take(now=T0 + timedelta(days=10)) == 1
    score = InterestScore.objects.get(member=member)
    assert (score.engagement, score.stage, score.ref_time) == (pytest.approx(12), "visitor", T0 + timedelta(days=10))
    assert StageTransition.objects.filter(member=member).latest("id").reason == "decay"
    snapshot = ScoreSnapshot.objects.get(member=member)
    assert (snapshot.date, snapshot.engagement, snapshot.stage) == ((T0 + timedelta(days=10)).date(), pytest.approx(12),
                                                                     "visitor")
    interest_snapshot_take(now=T0 + timedelta(days=20))
    interest_snapshot_take(now=T0 + timedelta(days=20, hours=1))  # same day: overwritten, not duplicated
    assert ScoreSnapshot.objects.filter(member=member).count() == 2
    assert member.interest_topics.get().points == pytest.approx(24 * 2 ** -((20 + 1 / 24) / 10))


def test_backfill_rebuilds_past_days_from_buckets():
    member = MemberFactory()
    for _ in range(3):
        record(member, "answer", day=0.5)
    record(member, "answer", day=1.5)
    assert interest_snapshots_backfill(days=3, now=T0 + timedelta(days=3, hours=2)) == 3
    rows = list(ScoreSnapshot.objects.filter(member=member).values_list("date", "engagement", "stage"))
    assert rows == [
        (T0.date(), pytest.approx(24), "engaged"),
        ((T0 + timedelta(days=1)).date(), pytest.approx(24 * 2 ** -0.1 + 8), "engaged"),
        ((T0 + timedelta(days=2)).date(), pytest.approx(24 * 2 ** -0.2 + 8 * 2 ** -0.1), "engaged"),
    ]


def test_periodic_tasks_are_scheduled_and_run():
    from django_celery_beat.models import PeriodicTask

    from community_scoring.tasks import (
        interest_inactivity_task, interest_pending_score_task, interest_rank_rekey_task, interest_revalue_task,
        interest_snapshot_task,
    )
    from settings.celeryconf import app

    scheduled = dict(PeriodicTask.objects.filter(name__startswith="interest:").values_list("task", "crontab__hour"))
    assert scheduled == {interest_snapshot_task.name: "0", interest_inactivity_task.name: "2",
                         interest_pending_score_task.name: None, interest_revalue_task.name: "*",
                         interest_rank_rekey_task.name: None}
    pending = PeriodicTask.objects.get(task=interest_pending_score_task.name)
    assert (pending.interval.every, pending.interval.period, pending.enabled) == (1, "minutes", True)
    assert all(name in app.tasks for name in scheduled)
    member = MemberFactory()
    record(member, "answer", day=0.5)  # long ago: idle for far more than 30 days
    assert interest_inactivity_task.delay().get() == 1
    assert interest_inactivity_task.delay().get() == 0
    assert interest_snapshot_task.delay().get() == 1
    assert ScoreSnapshot.objects.filter(member=member).count() == 1
