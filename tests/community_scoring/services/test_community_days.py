"""The dashboard's daily aggregates (services.community_days): each day's counts and means, worked out by hand
from a small planted log and planted snapshots; days without data are zeros; refreshing twice changes nothing."""
from datetime import date, datetime
from datetime import timezone as dt_timezone

import pytest

from community_scoring.influence.models import InfluenceSnapshot
from community_scoring.models import CommunityDay, ScoreSnapshot
from community_scoring.services.community_days import community_days_refresh
from tests.factories import ActionFactory, MemberFactory

D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=dt_timezone.utc)


def influence_snapshot(member, day, value):
    InfluenceSnapshot.objects.create(member=member, day=day, run_id=1, influence=value, influence_base=value, rank=1,
                                     percentile=50, centrality_percentile=50, reach=0, sentiment=0,
                                     is_advocate=False, is_detractor=False)


@pytest.fixture
def planted(db):
    ann = MemberFactory(joined_at=at(D1, 9))
    bob = MemberFactory(joined_at=at(D1, 23))
    cat = MemberFactory(joined_at=at(D3, 1))
    staff = MemberFactory(joined_at=at(D1, 2), is_excluded=True)
    # D1: ann 2 actions, bob 1; D2 nothing; D3: cat 1, staff 1 (activity counts staff too).
    ActionFactory(member=ann, occurred_at=at(D1, 10))
    ActionFactory(member=ann, occurred_at=at(D1, 23))
    ActionFactory(member=bob, occurred_at=at(D1, 23))
    ActionFactory(member=cat, occurred_at=at(D3, 0))
    ActionFactory(member=staff, occurred_at=at(D3, 5))
    for member, day, score, stage in [(ann, D1, 10.0, "engaged"), (bob, D1, 4.0, "visitor"),
                                      (ann, D2, 8.0, "engaged"), (bob, D2, 3.0, "visitor"),
                                      (staff, D2, 100.0, "MQL")]:
        ScoreSnapshot.objects.create(member=member, date=day, engagement=score, fit=0, score=score, stage=stage)
    influence_snapshot(ann, D2, 60.0)
    influence_snapshot(bob, D2, 40.0)
    influence_snapshot(staff, D2, 99.0)
    return ann, bob, cat


def test_each_day_is_counted_from_the_log_and_the_snapshots(planted):
    assert community_days_refresh(since=D1, until=D3) == 3
    days = {d.day: d for d in CommunityDay.objects.all()}
    assert sorted(days) == [D1, D2, D3]
    one, two, three = days[D1], days[D2], days[D3]
    assert (one.actions, one.active_members, one.new_members) == (3, 2, 3)  # ann, bob and staff joined D1
    assert one.mean_interest == pytest.approx(7.0) and one.scored_members == 2
    assert one.stages == {"engaged": 1, "visitor": 1}
    assert one.mean_influence is None
    assert (two.actions, two.active_members, two.new_members) == (0, 0, 0)
    assert two.mean_interest == pytest.approx(5.5)  # staff's 100 left out
    assert two.mean_influence == pytest.approx(50.0)
    assert (three.actions, three.active_members, three.new_members) == (2, 2, 1)
    assert three.mean_interest is None and three.stages == {} and three.scored_members == 0


def test_refresh_is_idempotent_and_updates_a_day_in_place(planted):
    ann, _, _ = planted
    community_days_refresh(since=D1, until=D3)
    community_days_refresh(since=D1, until=D3)
    assert CommunityDay.objects.count() == 3
    ActionFactory(member=ann, occurred_at=at(D2, 12))
    community_days_refresh(since=D2, until=D2)
    two = CommunityDay.objects.get(day=D2)
    assert (two.actions, two.active_members) == (1, 1)
    assert CommunityDay.objects.get(day=D1).actions == 3


def test_without_since_it_starts_at_the_first_data(planted):
    assert community_days_refresh(until=D3) == 3
    assert CommunityDay.objects.order_by("day").first().day == D1


@pytest.mark.django_db
def test_an_empty_community_has_no_days():
    assert community_days_refresh() == 0
    assert not CommunityDay.objects.exists()
