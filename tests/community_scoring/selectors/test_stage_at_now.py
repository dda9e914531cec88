"""The member list's ``?stage=`` filter (API, CSV export) and the dashboard's stage funnel read each member's stage
valued at the read's instant (store.base.interest_value_at, the rule every read uses), never the stored stage
column, which is up to an hour old (services.revalue re-values it hourly). On both interest stores (issue 15,
item 7)."""
import csv
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.db import connection
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from community_scoring import store
from community_scoring.models import Experiment, InterestScore, Member
from community_scoring.outcomes.experiments import experiment_start
from community_scoring.selectors import interest as interest_selectors
from community_scoring.selectors.config import scoring_config_current
from community_scoring.selectors.dashboard import stage_funnel
from community_scoring.selectors.interest import interest_current
from community_scoring.selectors.members import member_list
from community_scoring.services.config import config_apply
from community_scoring.store.postgres import PostgresInterestStore
from community_scoring.store.python import PythonInterestStore
from tests.community_scoring.services.interest_helpers import T0, test_config_snapshot
from tests.factories import MemberFactory

BACKENDS = [("python", PythonInterestStore())]
if connection.vendor == "postgresql":
    BACKENDS.append(("postgresql", PostgresInterestStore()))

NOW = T0 + timedelta(days=100, hours=7)
URL = "/api/v1/members/"


def stored(member, *, engagement, fit, stage, days_ago):
    """A score row as the scorer left it: engagement and stage valued ``days_ago`` before NOW."""
    ref_time = None if days_ago is None else NOW - timedelta(days=days_ago)
    return InterestScore.objects.create(member=member, engagement=engagement, fit=fit, score=engagement + fit,
                                        stage=stage, ref_time=ref_time, rank_key=engagement + fit)


@pytest.fixture
def decayed(db, monkeypatch):
    """Default rule set: half-life 10 days; developers: 5 days. Stages: engaged >= 20, MQL >= 50 with fit >= 20."""
    monkeypatch.setattr(interest_selectors, "valued_now", lambda: NOW)
    snapshot = test_config_snapshot()
    snapshot["rule_sets"][1]["half_life_days"] = 5
    config_apply(snapshot=snapshot, note="stage at now")
    members = {name: MemberFactory(source="stage", external_id=name, persona=persona, is_excluded=excluded)
               for name, persona, excluded in (("faded", "", False), ("fresh", "", False), ("dev", "developer", False),
                                               ("staff", "", True), ("unscored", "", False))}
    stored(members["faded"], engagement=60, fit=25, stage="MQL", days_ago=10)  # 30 at NOW: engaged
    stored(members["fresh"], engagement=60, fit=25, stage="MQL", days_ago=0)  # 60: MQL
    stored(members["dev"], engagement=80, fit=25, stage="MQL", days_ago=5)  # 40 under 5 days (56.6 under 10): engaged
    stored(members["staff"], engagement=60, fit=25, stage="MQL", days_ago=10)  # engaged, but never counted
    return members


@pytest.mark.parametrize("name, backend", BACKENDS, ids=[b[0] for b in BACKENDS])
def test_a_member_decayed_below_mql_is_listed_exported_and_counted_as_engaged(decayed, token_client, monkeypatch,
                                                                             name, backend):
    monkeypatch.setitem(store.BACKENDS, connection.vendor, backend)
    admin = token_client("admin")
    names = {m.pk: n for n, m in decayed.items()}

    def listed(query):
        response = admin.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return [names[row["id"]] for row in response.json()["results"]], response.json()["results"]

    mql, rows = listed("stage=MQL")
    assert mql == ["fresh"]
    assert [row["interest"]["stage"] for row in rows] == ["MQL"]
    engaged, rows = listed("stage=engaged")
    assert engaged == ["faded", "dev", "staff"]
    assert [row["interest"]["stage"] for row in rows] == ["engaged"] * 3
    assert listed("stage=engaged&is_excluded=false&ordering=-interest")[0] == ["dev", "faded"]
    assert listed("stage=visitor,MQL")[0] == ["fresh"]
    assert listed("stage=visitor")[0] == []

    export = admin.get(f"{URL}export/?stage=engaged&format=csv")
    assert export.status_code == 200
    rows = list(csv.DictReader(StringIO(b"".join(export.streaming_content).decode())))
    assert sorted(row["external_id"] for row in rows) == ["dev", "faded", "staff"]
    assert {row["stage"] for row in rows} == {"engaged"}

    assert stage_funnel() == [("visitor", 0), ("engaged", 2), ("MQL", 1)]


@pytest.mark.parametrize("name, backend", BACKENDS, ids=[b[0] for b in BACKENDS])
def test_the_dashboard_shows_the_funnel_valued_at_now(decayed, admin_client, monkeypatch, name, backend):
    monkeypatch.setitem(store.BACKENDS, connection.vendor, backend)
    seen = {}
    real = stage_funnel

    def spy(**kwargs):
        seen["funnel"] = real(**kwargs)
        return seen["funnel"]

    monkeypatch.setattr("community_scoring.pages.views.dashboard_selectors.stage_funnel", spy)
    assert admin_client.get("/").status_code == 200
    assert seen["funnel"] == [("visitor", 0), ("engaged", 2), ("MQL", 1)]


# --- property: the filter and the funnel agree with interest_current() for every member -----------------------

PERSONAS = ["", "developer", " Developer ", "marketer", "unknown"]
half_life = st.none() | st.floats(0.5, 60)
stages = st.lists(st.tuples(st.integers(-30, 60), st.sampled_from([0, 10, 25])), min_size=1, max_size=3)
scoring = st.fixed_dictionaries({"half_lives": st.tuples(half_life, half_life, half_life), "stages": stages})
engagement = (st.floats(-100, 100) | st.integers(-40, 70).map(float)  # ties with the (whole) thresholds
              | st.tuples(st.integers(-30, 60), st.floats(-1, 1)).map(sum))  # just either side of one
member = st.tuples(
    st.sampled_from(PERSONAS),
    st.one_of(st.none(), engagement, engagement, engagement),  # stored engagement (None: no score row)
    st.none() | st.floats(0, 60, allow_nan=False),       # days after T0 the row is valued at (None: never decayed)
    st.sampled_from([0, 10, 25]),                        # fit
    st.booleans(),                                       # excluded
    st.sampled_from(["", "visitor", "s1", "MQL", "gone"]),  # the stored stage: whatever it is, it is not read
)


def snapshot_of(drawn: dict) -> dict:
    default, developer, marketer = drawn["half_lives"]
    snapshot = test_config_snapshot(stages=[{"name": "visitor", "position": 0, "min_engagement": 0, "min_fit": 0}] + [
        {"name": f"s{i}", "position": i, "min_engagement": e, "min_fit": f}
        for i, (e, f) in enumerate(drawn["stages"], 1)])
    snapshot["rule_sets"][0]["half_life_days"] = default
    snapshot["rule_sets"][1]["half_life_days"] = developer
    snapshot["rule_sets"].append({"name": "Marketers", "persona": "marketer", "half_life_days": marketer,
                                  "inactivity_days": None, "rules": [], "fit_rules": []})
    return snapshot


def near_a_threshold(engagement: float, stored: float, config) -> bool:
    """Float rounding could put SQL's and Python's decay on two sides of a threshold this close (an engagement that
    did not decay is the same number on both sides: a tie is compared, as >=)."""
    thresholds = [s.min_engagement for c in (config, *([config.split.config] if config.split else ()))
                  for s in c.stages]
    return engagement != stored and any(abs(engagement - t) <= 1e-9 * max(1.0, abs(t)) for t in thresholds)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="runs both backends on PostgreSQL")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(a=scoring, b=st.none() | scoring, before=st.lists(member, min_size=3, max_size=8),
       after=st.lists(member, min_size=3, max_size=10),
       when_days=st.floats(0, 90, allow_nan=False))
def test_the_stage_filter_and_the_funnel_agree_with_the_read_of_every_member(a, b, before, after, when_days,
                                                                             monkeypatch):
    Experiment.objects.all().delete()
    Member.objects.all().delete()
    config_apply(snapshot=snapshot_of(a), note="A")
    drawn = list(before)
    members = [MemberFactory(source="prop", external_id=f"m{i}", persona=p, is_excluded=x)
               for i, (p, _, _, _, x, _) in enumerate(before)]
    if b is not None:  # a running experiment: members who join after its start are split, B's own stages
        experiment_start(name="B", config_b=snapshot_of(b), share=0.5)
        drawn += after
        members += [MemberFactory(source="prop", external_id=f"n{i}", persona=p, is_excluded=x)
                    for i, (p, _, _, _, x, _) in enumerate(after)]
    for m, (_, engagement, ref_days, fit, _, stage) in zip(members, drawn):
        if engagement is not None:
            InterestScore.objects.create(
                member=m, engagement=engagement, fit=fit, score=engagement + fit, stage=stage,
                ref_time=None if ref_days is None else T0 + timedelta(days=ref_days))
    when = T0 + timedelta(days=when_days)
    config = scoring_config_current()
    read = {m.pk: interest_current(member=m, when=when, config=config) for m in Member.objects.all()}
    engagements = dict(InterestScore.objects.values_list("member_id", "engagement"))
    assume(not any(r is not None and near_a_threshold(r["engagement"], engagements[pk], config)
                   for pk, r in read.items()))
    expected = {pk: r["stage"] for pk, r in read.items() if r is not None}
    excluded = set(Member.objects.filter(is_excluded=True).values_list("pk", flat=True))
    counted = Counter(stage for pk, stage in expected.items() if pk not in excluded)
    names = [s.name for s in config.stages]
    b_names = [s.name for s in config.split.config.stages] if config.split else []
    queries = [*dict.fromkeys(names + b_names), "gone", ",".join(names[:2]), ",".join(b_names[-2:])]

    for name, backend in (("postgresql", PostgresInterestStore()), ("python", PythonInterestStore())):
        monkeypatch.setitem(store.BACKENDS, "postgresql", backend)
        for query in filter(None, queries):
            asked = set(query.split(","))
            listed = set(member_list(filters={"stage": query}, at=when).values_list("pk", flat=True))
            assert listed == {pk for pk, stage in expected.items() if stage in asked}, (name, query)
        funnel = stage_funnel(at=when)
        # The configured stages first, in their order; then the others (B's own here), most members first.
        assert funnel[:len(names)] == [(stage, counted[stage]) for stage in names], name
        rest = funnel[len(names):]
        assert sorted(rest) == sorted((stage, n) for stage, n in counted.items() if stage not in names), name
        assert [n for _, n in rest] == sorted((n for _, n in rest), reverse=True), name
