"""Live scoring, a recompute and a read agree at one instant (issue 15, item 7), on both interest stores.

For random actions over 30 days (several personas with their own half-lives, negative actions, inactivity
penalties logged by the real service, sometimes an hourly re-valuation in between), a read valued at T of the
live-scored rows equals the rows a recompute at T stores, and equals a read valued at T after that recompute:
engagement, score and stage. The reference is the recompute (scoring.ledger over the log), not the read's rule.
"""
from datetime import timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community_scoring import store
from community_scoring.models import (
    Action, Content, InterestBucket, InterestPending, InterestScore, InterestTopic, Member, StageTransition,
)
from community_scoring.selectors.config import scoring_config_current
from community_scoring.selectors.interest import interest_current, interest_rows_value
from community_scoring.services.config import config_apply
from community_scoring.services.events import EventIn, MemberIn
from community_scoring.services.inactivity import interest_inactivity_apply
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.recompute import interest_recompute
from community_scoring.services.revalue import interest_rank_rekey, interest_revalue
from community_scoring.store.postgres import PostgresInterestStore
from community_scoring.store.python import PythonInterestStore
from tests.community_scoring.services.interest_helpers import T0, rule
from tests.factories import MemberFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="runs both backends on PostgreSQL")

TYPES = ["answer", "comment", "vote_up", "vote_down", "unsubscribe", "follow"]
PERSONAS = ["", "developer", "marketer"]
THRESHOLDS = (15, 40)  # engaged, MQL (MQL also needs fit >= 10)


def snapshot_of(half_lives: tuple, inactivity_days: tuple) -> dict:
    default_rules = [rule("answer", 8, daily_cap=24), rule("comment", 3), rule("vote_up", 1, 2, daily_cap=10),
                     rule("vote_down", 0, -3), rule("unsubscribe", -15), rule("follow", 2, 1, once_only=True),
                     rule("inactivity", -12)]
    fit = [{"attribute": "job_title", "operator": "contains", "value": "engineer", "points": 10}]
    return {
        "rule_sets": [
            {"name": "Default", "persona": "", "half_life_days": half_lives[0], "inactivity_days": inactivity_days[0],
             "rules": default_rules, "fit_rules": fit},
            {"name": "Developers", "persona": "developer", "half_life_days": half_lives[1],
             "inactivity_days": inactivity_days[1], "rules": [rule("answer", 15), rule("inactivity", -20)],
             "fit_rules": fit},
            {"name": "Marketers", "persona": "marketer", "half_life_days": half_lives[2],
             "inactivity_days": inactivity_days[2], "rules": [rule("comment", 6, daily_cap=12)], "fit_rules": []},
        ],
        "stages": [{"name": "visitor", "position": 0, "min_engagement": 0, "min_fit": 0},
                   {"name": "engaged", "position": 1, "min_engagement": THRESHOLDS[0], "min_fit": 0},
                   {"name": "MQL", "position": 2, "min_engagement": THRESHOLDS[1], "min_fit": 10}],
    }


half_life = st.none() | st.floats(0.5, 30)
event = st.tuples(st.integers(0, 5), st.sampled_from(TYPES), st.floats(0, 30, allow_nan=False), st.integers(-1, 5))


def interest_reset():
    for model in (Action, InterestPending, InterestBucket, InterestTopic, InterestScore, StageTransition, Content,
                  Member):
        model.objects.all().delete()


def near_threshold(engagement: float) -> bool:
    """Stages are compared except where float rounding could put the two sides of a threshold apart."""
    return any(abs(engagement - t) < 1e-6 for t in (0, *THRESHOLDS))


def read_at(when) -> dict[int, tuple[float, float, str]]:
    """Every member's interest as the reads show it at ``when``: the member list / board path
    (interest_rows_value) and the audience path (interest_current), which must agree."""
    members = list(Member.objects.select_related("interest").order_by("pk"))
    audience = {m.pk: interest_current(member=m, when=when) for m in members}
    interest_rows_value(((getattr(m, "interest", None), m) for m in members), at=when)
    out = {}
    for m in members:
        row = getattr(m, "interest", None)
        if row is None:
            assert audience[m.pk] is None
            continue
        shown = (row.engagement, row.score, row.stage)
        assert audience[m.pk]["engagement"] == pytest.approx(shown[0], rel=1e-9, abs=1e-9)
        assert audience[m.pk]["stage"] == shown[2]
        out[m.pk] = shown
    return out


def assert_agree(expected: dict, actual: dict, label: str) -> None:
    for member_id, (engagement, score, stage) in expected.items():
        got = actual.get(member_id, (0.0, score - engagement, None))
        assert got[0] == pytest.approx(engagement, rel=1e-6, abs=1e-7), (label, member_id)
        assert got[1] == pytest.approx(score, rel=1e-6, abs=1e-7), (label, member_id)
        if not near_threshold(engagement) and got[2] is not None:
            assert got[2] == stage, (label, member_id, engagement)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(half_lives=st.tuples(half_life, half_life, half_life),
       inactivity_days=st.tuples(st.none() | st.integers(2, 8), st.none() | st.integers(2, 8), st.none()),
       personas=st.lists(st.sampled_from(PERSONAS), min_size=6, max_size=6),
       drawn_events=st.lists(event, min_size=1, max_size=40), batch=st.integers(1, 15),
       penalties_at=st.none() | st.floats(5, 31), revalue_at=st.none() | st.floats(0, 31),
       extra=st.floats(0, 10), order=st.randoms(use_true_random=False))
def test_live_scoring_a_recompute_and_a_read_agree_at_one_instant(
        half_lives, inactivity_days, personas, drawn_events, batch, penalties_at, revalue_at, extra, order,
        monkeypatch):
    when = T0 + timedelta(days=31 + extra)  # after every action, penalty and re-valuation
    for name, backend in (("postgresql", PostgresInterestStore()), ("python", PythonInterestStore())):
        monkeypatch.setitem(store.BACKENDS, "postgresql", backend)
        interest_reset()
        config_apply(snapshot=snapshot_of(half_lives, inactivity_days), note="one instant")
        members = [MemberFactory(source="inst", external_id=f"m{i}", persona=personas[i],
                                 attributes={"job_title": "engineer"} if i % 2 else {}) for i in range(6)]
        events = [EventIn(source="inst", event_id=f"e{n}", type=t, occurred_at=T0 + timedelta(days=day),
                          member=MemberIn(external_id=members[actor].external_id),
                          target_member=MemberIn(external_id=members[target].external_id) if target >= 0 else None)
                  for n, (actor, t, day, target) in enumerate(drawn_events)]
        order.shuffle(events)
        half = len(events) // 2
        for start in range(0, half, batch):
            actions_ingest(events=events[start:min(start + batch, half)])
        if revalue_at is not None:
            interest_revalue(now=T0 + timedelta(days=revalue_at))  # later actions arrive after (or before) it
        for start in range(half, len(events), batch):
            actions_ingest(events=events[start:start + batch])
        if penalties_at is not None:
            interest_inactivity_apply(now=T0 + timedelta(days=penalties_at))
        assert not InterestPending.objects.exists()

        live = read_at(when)
        interest_recompute(now=when)
        config = scoring_config_current()
        stored = {s.member_id: (s.engagement, s.score, s.stage) for s in InterestScore.objects.all()}
        assert stored.keys() >= live.keys()
        assert all(s.ref_time is None or s.ref_time >= when for s in InterestScore.objects.all())
        assert_agree(stored, live, f"{name}: live read vs recompute")
        assert_agree(stored, read_at(when), f"{name}: read after recompute vs recompute")
        # The stored stage a recompute writes is the one its engagement gives (no hidden instant).
        for engagement, score, stage in stored.values():
            assert stage == config.stage_for(engagement, score - engagement)
        # The re-key (this backend's) keys every row with the score a read at the same instant shows.
        interest_rank_rekey(now=when)
        keys = dict(InterestScore.objects.values_list("member_id", "rank_key"))
        for member_id, (_, score, _) in read_at(when).items():
            assert keys[member_id] == pytest.approx(score, rel=1e-9, abs=1e-9), (name, member_id)
