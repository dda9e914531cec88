"""A small community with hand-set scores, so every expected number in these tests is known in advance: the scores
are valued at NOW (ref_time, and the leaderboard key), and every read in these tests is valued at NOW too."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from community_scoring.influence.models import InfluenceRun, InfluenceScore
from community_scoring.models import InterestScore, Member, ScoreSnapshot
from tests.factories import UTC, MemberFactory

NOW = timezone.now()


@dataclass
class Community:
    alice: Member  # top interest, MQL, developer, active yesterday, influential advocate
    bob: Member  # engaged, marketer, active 20 days ago, detractor
    carol: Member  # engaged developer, active 60 days ago, rising fast
    dave: Member  # visitor, no activity, no influence row
    staff: Member  # excluded: highest scores but never on a leaderboard
    run: InfluenceRun


def _interest(member, score, stage, last_days_ago, fit=0.0):
    last = None if last_days_ago is None else NOW - timedelta(days=last_days_ago)
    return InterestScore.objects.create(
        member=member, engagement=score - fit, fit=fit, score=score, stage=stage, primary_topic="api",
        last_activity_at=last, ref_time=NOW, rank_key=score,
    )


def _influence(run, member, influence, rank, *, sentiment_mean, advocate=False, detractor=False):
    return InfluenceScore.objects.create(
        run=run, member=member, centrality=influence / 1000, rank=rank, percentile=100 - rank * 10,
        centrality_percentile=100 - rank * 10, influence_base=0.7 * (100 - rank * 10) + 0.3 * 50,
        in_degree=10 - rank, sources=10 - rank, reach=20 - rank, reach_percentile=50, sentiment_mean=sentiment_mean,
        sentiment_count=4, sentiment_positive_share=0.5, sentiment_negative_share=0.25, sentiment=sentiment_mean or 0,
        influence=influence, is_advocate=advocate, is_detractor=detractor,
    )


@pytest.fixture(autouse=True)
def _read_at_now(monkeypatch):
    """Reads value interest at NOW, the instant the hand-set scores are valued at (their `valued_at`)."""
    from community_scoring.selectors import interest

    monkeypatch.setattr(interest, "valued_now", lambda: NOW)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rankings are cached (rising): every test starts from an empty cache."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def community(db) -> Community:
    alice = MemberFactory(display_name="Alice Anders", email="alice@acme.test", persona="developer",
                          external_id="a-1", joined_at=datetime(2024, 1, 10, tzinfo=UTC))
    bob = MemberFactory(display_name="Bob Brown", email="bob@corp.test", persona="marketer",
                        external_id="b-2", joined_at=datetime(2024, 3, 1, tzinfo=UTC))
    carol = MemberFactory(display_name="Carol Chen", email="carol@acme.test", persona="developer",
                          external_id="c-3", joined_at=datetime(2024, 6, 1, tzinfo=UTC))
    dave = MemberFactory(display_name="Dave Dune", email="dave@home.test", persona="",
                         external_id="d-4", joined_at=datetime(2025, 1, 1, tzinfo=UTC))
    staff = MemberFactory(display_name="Sam Staff", email="sam@us.test", persona="developer",
                          external_id="s-5", is_excluded=True, joined_at=datetime(2023, 1, 1, tzinfo=UTC))
    _interest(alice, 80.0, "MQL", 1, fit=20.0)
    _interest(bob, 35.0, "engaged", 20)
    _interest(carol, 35.0, "engaged", 60)
    _interest(dave, 0.0, "visitor", None)
    _interest(staff, 500.0, "engaged", 0)  # no fit: engaged, however high (MQL needs fit >= 20)
    old_run = InfluenceRun.objects.create(status=InfluenceRun.Status.DONE)
    _influence(old_run, bob, 99.0, 1, sentiment_mean=0.9)  # superseded run: must never show
    run = InfluenceRun.objects.create(status=InfluenceRun.Status.DONE, finished_at=NOW, ref_time=NOW,
                                      config={"centrality_weight": 0.7, "reach_weight": 0.3, "sentiment_weight": 0.2,
                                              "half_life_days": 10.0, "edge_weights": {"follow": 3.0}})
    _influence(run, alice, 90.0, 1, sentiment_mean=0.6, advocate=True)
    _influence(run, bob, 70.0, 2, sentiment_mean=-0.4, detractor=True)
    _influence(run, carol, 20.0, 3, sentiment_mean=0.0)
    _influence(run, staff, 95.0, 1, sentiment_mean=0.8, advocate=True)
    InfluenceRun.objects.create(status=InfluenceRun.Status.RUNNING)  # in progress: not current
    today = NOW.date()
    # Snapshots for "rising": carol went 5 -> 35 over 30 days (+30), bob 30 -> 35 (+5), alice 79 -> 80 (+1).
    for member, then in ((carol, 5.0), (bob, 30.0), (alice, 79.0)):
        ScoreSnapshot.objects.create(member=member, date=today - timedelta(days=40), engagement=0, fit=0, score=1.0)
        ScoreSnapshot.objects.create(member=member, date=today - timedelta(days=31), engagement=then, fit=0, score=then)
        ScoreSnapshot.objects.create(member=member, date=today - timedelta(days=1), engagement=0, fit=0, score=33.0)
    return Community(alice=alice, bob=bob, carol=carol, dave=dave, staff=staff, run=run)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def walk(client, url: str) -> list[dict]:
    """Follow `next` links to the end; returns every row."""
    rows: list[dict] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        rows += response.json()["results"]
        url = response.json()["next"]
    return rows


TODAY: date = NOW.date()
