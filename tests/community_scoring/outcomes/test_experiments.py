"""Live threshold/config experiments: the deterministic split, B members scored by B's configuration on both
backends (and by a recompute), the report against a direct count, stop + promote, and the roles."""
import math
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community_scoring import store
from community_scoring.models import ConfigVersion, Content, InterestScore, Member, Stage
from community_scoring.outcomes.experiment_report import experiment_report
from community_scoring.outcomes.experiments import experiment_start, experiment_stop
from community_scoring.outcomes.models import Outcome
from community_scoring.scoring.split import split_bucket, variant_of
from community_scoring.selectors import interest as interest_selectors
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.recompute import interest_recompute
from community_scoring.store.postgres import PostgresInterestStore
from community_scoring.store.python import PythonInterestStore
from tests.community_scoring.services.interest_helpers import T0, install_test_config, record, test_config_snapshot
from tests.community_scoring.store.test_backend_parity import (
    config as drawn_configs, event, events_of, interest_reset, snapshot_of, stored_state,
)
from tests.factories import ContentFactory, MemberFactory

# The test config's MQL needs engagement >= 50 and fit >= 20; B's needs engagement >= 10 and no fit.
B_STAGES = [{"name": "visitor", "position": 0, "min_engagement": 0, "min_fit": 0},
            {"name": "engaged", "position": 1, "min_engagement": 5, "min_fit": 0},
            {"name": "MQL", "position": 2, "min_engagement": 10, "min_fit": 0}]


def b_document():
    return test_config_snapshot(stages=B_STAGES)


def new_members(experiment, *, count, at_least=None):
    """Members created after the start, with the variant scoring.split gives each: ``count`` of them, and more until
    each variant has ``at_least`` ({variant: n}). Ids come from the database's sequence, so which variants a run of
    ids falls in depends on the tests before (30 ids once gave B only 7)."""
    members, at_least = {}, at_least or {}
    while len(members) < count or any(sum(v == variant for _, v in members.values()) < n
                                      for variant, n in at_least.items()):
        assert len(members) < 1000, "the split never gives these variants enough members"
        m = MemberFactory(source="x", external_id=f"new-{len(members)}")
        members[m.pk] = (m, variant_of(experiment_id=experiment.pk, first_member_id=experiment.first_member_id,
                                       share=experiment.share, member_id=m.pk))
    return members


def one_of_each(members):
    # Ids come from the database's sequence, so which run of ids a test gets depends on the tests before it: one run
    # of 12 was all B for experiment 17 (ids 3376-3387). Callers ask new_members for at least one of each.
    a = next(m for m, v in members.values() if v == "A")
    b = next(m for m, v in members.values() if v == "B")
    return a, b


# --- the split ------------------------------------------------------------------------------------------------

def test_the_split_is_deterministic_and_near_the_share():
    ids = range(1001, 3001)
    first = [variant_of(experiment_id=7, first_member_id=1000, share=0.3, member_id=m) for m in ids]
    again = [variant_of(experiment_id=7, first_member_id=1000, share=0.3, member_id=m) for m in ids]
    assert first == again
    in_b = first.count("B")
    # Binomial(2000, 0.3): sd = sqrt(2000 * 0.3 * 0.7) = 20.5; four sd either side.
    assert abs(in_b - 600) < 82 and first.count("A") == 2000 - in_b
    # Members who joined before the start take no part; another experiment splits differently.
    assert variant_of(experiment_id=7, first_member_id=1000, share=0.3, member_id=1000) is None
    other = [variant_of(experiment_id=8, first_member_id=1000, share=0.3, member_id=m) for m in ids]
    assert other != first


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's md5")
def test_postgresql_computes_the_same_buckets():
    ids = list(range(1, 400))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, ('x' || substr(md5('42:' || id::text), 1, 8))::bit(32)::bigint %% 10000 "
                       "FROM unnest(%s::bigint[]) id ORDER BY id", [ids])
        assert dict(cursor.fetchall()) == {m: split_bucket(42, m) for m in ids}


# --- scoring ----------------------------------------------------------------------------------------------------

BACKENDS = [("python", PythonInterestStore())]
if connection.vendor == "postgresql":
    BACKENDS.append(("postgresql", PostgresInterestStore()))


@pytest.mark.django_db
@pytest.mark.parametrize("name, backend", BACKENDS, ids=[b[0] for b in BACKENDS])
def test_b_members_are_staged_by_b_thresholds_old_members_stay_on_a(monkeypatch, name, backend):
    monkeypatch.setitem(store.BACKENDS, connection.vendor, backend)
    install_test_config()
    old = MemberFactory(source="x", external_id="old")
    experiment = experiment_start(name="low MQL", config_b=b_document(), share=0.5)
    a, b = one_of_each(new_members(experiment, count=40, at_least={"A": 1, "B": 1}))
    for member in (old, a, b):
        record(member, "answer", day=0)
        record(member, "question", day=0)  # 8 + 5 = 13 points: MQL under B (>= 10), visitor under A (< 20)
    stages = dict(InterestScore.objects.values_list("member_id", "stage"))
    assert stages == {old.pk: "visitor", a.pk: "visitor", b.pk: "MQL"}
    assert InterestScore.objects.get(member=b).engagement == pytest.approx(13)

    # A full recompute from the log agrees with live scoring, B member included.
    before = {s.member_id: (s.stage, s.fit) for s in InterestScore.objects.all()}
    interest_recompute(now=T0 + timedelta(hours=12))
    after = {s.member_id: (s.stage, s.fit) for s in InterestScore.objects.filter(member_id__in=before)}
    assert after == before


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares the PostgreSQL backend")
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(drawn_a=drawn_configs, drawn_b=drawn_configs, drawn_events=st.lists(event, min_size=1, max_size=40),
       batch=st.integers(1, 15), share=st.sampled_from([0.3, 0.5, 0.7]))
def test_backends_agree_for_a_mix_of_a_and_b_members(drawn_a, drawn_b, drawn_events, batch, share, monkeypatch):
    interest_reset()
    Content.objects.all().delete()
    Member.objects.all().delete()
    from community_scoring.models import Experiment
    Experiment.objects.all().delete()
    from community_scoring.services.config import config_apply
    config_apply(snapshot=snapshot_of(drawn_a), note="parity A")
    experiment_start(name="parity", config_b=snapshot_of(drawn_b), share=share)
    personas = ["", "developer", " Developer ", "unknown", ""]
    members = [MemberFactory(source="prop", external_id=f"m{i}", persona=personas[i]) for i in range(5)]
    contents = [ContentFactory(source="prop", external_id="c5", author=members[0], topic="python"),
                ContentFactory(source="prop", external_id="c6", author=members[2], topic="")]
    events = events_of(drawn_events, members, contents)
    chunks = [events[start:start + batch] for start in range(0, len(events), batch)]
    states = {}
    for name, backend in (("postgresql", PostgresInterestStore()), ("python", PythonInterestStore())):
        monkeypatch.setitem(store.BACKENDS, "postgresql", backend)
        for chunk in chunks:
            actions_ingest(events=chunk)
        states[name] = stored_state(T0)
        interest_reset()
    assert states["postgresql"] == states["python"]


# --- the report -------------------------------------------------------------------------------------------------

def wilson(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.django_db
def test_report_counts_members_mqls_and_conversions_per_variant_with_intervals(monkeypatch):
    monkeypatch.setattr(interest_selectors, "valued_now", lambda: T0 + timedelta(hours=12))  # the actions' day
    install_test_config()
    experiment = experiment_start(name="report", config_b=b_document(), share=0.5)
    members = new_members(experiment, count=30, at_least={"A": 3, "B": 8})
    in_a = [m for m, v in members.values() if v == "A"]
    in_b = [m for m, v in members.values() if v == "B"]
    # Every member earns 13 points: MQL in B only. Converted: the first 3 of A, the first 5 of B (after the
    # start); one more B member converted before the start (not counted); a sales rejection is no conversion.
    for member in in_a + in_b:
        record(member, "answer", day=0)
        record(member, "question", day=0)
    after = experiment.started_at + timedelta(hours=1)
    for i, member in enumerate(in_a[:3] + in_b[:5]):
        Outcome.objects.create(source="crm", outcome_id=f"o{i}", type="converted", occurred_at=after, member=member)
    Outcome.objects.create(source="crm", outcome_id="early", type="won", member=in_b[6],
                           occurred_at=experiment.started_at - timedelta(days=1))
    Outcome.objects.create(source="crm", outcome_id="rej", type="sales_rejected", member=in_b[7], occurred_at=after)

    report = experiment_report(experiment=experiment)
    a, b = report["variants"]
    assert (a["variant"], a["members"], a["mqls"], a["conversions"]) == ("A", len(in_a), 0, 3)
    assert (b["variant"], b["members"], b["mqls"], b["conversions"]) == ("B", len(in_b), len(in_b), 5)
    assert a["conversion_rate"] == pytest.approx(3 / len(in_a))
    assert a["conversion_interval"] == pytest.approx(list(wilson(3, len(in_a))))
    assert b["conversion_interval"] == pytest.approx(list(wilson(5, len(in_b))))
    assert b["mql_precision"] == pytest.approx(5 / len(in_b))
    # Newcombe (method 10): B - A with the Wilson limits of each.
    pa, pb = 3 / len(in_a), 5 / len(in_b)
    (la, ua), (lb, ub) = wilson(3, len(in_a)), wilson(5, len(in_b))
    expected = (pb - pa - math.sqrt((pb - lb) ** 2 + (ua - pa) ** 2), pb - pa + math.sqrt((ub - pb) ** 2 + (pa - la) ** 2))
    difference = report["difference"]
    assert difference["b_minus_a"] == pytest.approx(pb - pa)
    assert difference["interval"] == pytest.approx(list(expected))
    assert difference["leader"] == ("B" if pb > pa else "A")
    assert difference["excludes_zero"] is (expected[0] > 0 or expected[1] < 0)


@pytest.mark.django_db
@pytest.mark.parametrize("name, backend", BACKENDS, ids=[b[0] for b in BACKENDS])
def test_report_counts_mqls_by_the_stage_valued_now_under_each_variant(token_client, monkeypatch, name, backend):
    """The stored stage lags decay (re-valued hourly): the report counts the stage valued now, each participant
    under their variant's configuration, B's half-life included."""
    monkeypatch.setitem(store.BACKENDS, connection.vendor, backend)
    now = timezone.now()
    monkeypatch.setattr(interest_selectors, "valued_now", lambda: now)
    install_test_config()  # A: half-life 10 days, MQL at engagement >= 50 and fit >= 20
    b_doc = b_document()  # B: MQL at engagement >= 10, engaged >= 5; half-life 5 days
    b_doc["rule_sets"][0]["half_life_days"] = 5
    experiment = experiment_start(name="decay", config_b=b_doc, share=0.5)
    members = new_members(experiment, count=30, at_least={"A": 3, "B": 2})
    in_a = [m for m, v in members.values() if v == "A"]
    in_b = [m for m, v in members.values() if v == "B"]

    def stored(member, *, engagement, fit, days_ago):  # as the scorer left it: MQL when it was valued
        InterestScore.objects.create(member=member, engagement=engagement, fit=fit, score=engagement + fit,
                                     stage="MQL", ref_time=now - timedelta(days=days_ago))

    stored(in_a[0], engagement=60, fit=25, days_ago=10)  # 30 now: engaged under A
    stored(in_a[1], engagement=60, fit=25, days_ago=0)  # 60: MQL
    stored(in_a[2], engagement=16, fit=25, days_ago=0)  # MQL under B's thresholds, visitor under A's
    stored(in_b[0], engagement=16, fit=0, days_ago=5)  # 8 under B's 5 days (11.3 under A's 10): engaged
    stored(in_b[1], engagement=16, fit=0, days_ago=0)  # MQL
    after = experiment.started_at + timedelta(minutes=1)
    for i, member in enumerate([in_a[0], in_a[1], in_b[0]]):
        Outcome.objects.create(source="crm", outcome_id=f"o{i}", type="converted", occurred_at=after, member=member)

    report = token_client("admin").get(f"/api/v1/experiments/{experiment.pk}/").json()["report"]
    a, b = report["variants"]
    assert (a["mqls"], a["mql_conversions"], a["conversions"]) == (1, 1, 2)
    assert (b["mqls"], b["mql_conversions"], b["conversions"]) == (1, 0, 1)
    assert a["mql_rate"] == pytest.approx(1 / len(in_a)) and b["mql_precision"] == 0
    assert a["mql_precision"] == 1


# --- stopping ---------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_stop_promoting_b_applies_b_as_a_new_version_and_rescores(django_capture_on_commit_callbacks):
    install_test_config()
    old = MemberFactory(source="x", external_id="old")
    experiment = experiment_start(name="promote", config_b=b_document(), share=0.5)
    a, b = one_of_each(new_members(experiment, count=40, at_least={"A": 1, "B": 1}))
    for member in (old, a, b):  # now: the recompute values them at now, before decay
        record(member, "answer", occurred_at=timezone.now())
        record(member, "question", occurred_at=timezone.now())
    latest = ConfigVersion.objects.order_by("-number").first().number
    with django_capture_on_commit_callbacks(execute=True):
        stopped = experiment_stop(experiment_id=experiment.pk, promote="B")
    assert (stopped.status, stopped.promoted, stopped.promoted_version) == ("stopped", "B", latest + 1)
    assert list(Stage.objects.order_by("position").values_list("min_engagement", flat=True)) == [0, 5, 10]
    assert scoring_config_current().split is None
    # The recompute the new version started: everyone by B's thresholds now.
    stages = dict(InterestScore.objects.filter(member__in=[old, a, b]).values_list("member_id", "stage"))
    assert stages == {old.pk: "MQL", a.pk: "MQL", b.pk: "MQL"}
    assert stopped.report["variants"][1]["mqls"] == 1  # kept as it stood when it stopped
    with pytest.raises(Exception, match="already stopped"):
        experiment_stop(experiment_id=experiment.pk, promote="A")


@pytest.mark.django_db
def test_stop_keeping_a_rescores_the_b_members_by_the_current_config():
    install_test_config()
    experiment = experiment_start(name="keep", config_b=b_document(), share=0.5)
    a, b = one_of_each(new_members(experiment, count=40, at_least={"A": 1, "B": 1}))
    for member in (a, b):
        record(member, "answer", day=0)
        record(member, "question", day=0)
    assert InterestScore.objects.get(member=b).stage == "MQL"
    experiment_stop(experiment_id=experiment.pk, promote="A")
    stages = dict(InterestScore.objects.filter(member__in=[a, b]).values_list("member_id", "stage"))
    assert stages == {a.pk: "visitor", b.pk: "visitor"}
    assert Stage.objects.get(name="MQL").min_engagement == 50  # the configuration is unchanged
    # A new member after the stop is scored by A whatever their hash says.
    later = MemberFactory(source="x", external_id="later")
    record(later, "answer", day=0)
    record(later, "question", day=0)
    assert InterestScore.objects.get(member=later).stage == "visitor"


@pytest.mark.django_db
def test_only_one_experiment_runs_and_bad_input_names_the_field():
    install_test_config()
    with pytest.raises(Exception) as bad:
        experiment_start(name="", config_b={"rule_sets": "x"}, share=1.5)
    assert {"name", "share"} <= set(bad.value.message_dict) and any(
        k.startswith("config_b.") for k in bad.value.message_dict)
    experiment_start(name="one", config_b=b_document())
    with pytest.raises(Exception, match="already running"):
        experiment_start(name="two", config_b=b_document())


# --- API and page -----------------------------------------------------------------------------------------------

READ_ROLES = ["admin", "community_manager", "marketing"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "community_manager", "marketing", "ingest"])
def test_api_roles(token_client, role):
    install_test_config()
    client = token_client(role)
    start = client.post("/api/v1/experiments/", {"name": "api", "config_b": b_document(), "share": 0.5},
                        format="json")
    assert start.status_code == (201 if role == "admin" else 403)
    experiment = experiment_start(name="api", config_b=b_document()) if role != "admin" else None
    experiment_id = start.json()["id"] if role == "admin" else experiment.pk
    for url in ("/api/v1/experiments/", f"/api/v1/experiments/{experiment_id}/"):
        assert client.get(url).status_code == (200 if role in READ_ROLES else 403)
    stop = client.post(f"/api/v1/experiments/{experiment_id}/stop/", {"promote": None}, format="json")
    assert stop.status_code == (200 if role == "admin" else 403)


@pytest.mark.django_db
def test_api_start_report_stop_and_the_audience_view(token_client):
    install_test_config()
    admin = token_client("admin")
    bad = admin.post("/api/v1/experiments/", {"name": "x", "config_b": {"rule_sets": []}, "share": 2}, format="json")
    assert bad.status_code == 400 and "share" in bad.json()
    bad = admin.post("/api/v1/experiments/", {"name": "x", "config_b": {"rule_sets": "no"}}, format="json")
    assert bad.status_code == 400 and any(k.startswith("config_b.") for k in bad.json())
    started = admin.post("/api/v1/experiments/", {"name": "x", "config_b": b_document(), "share": 0.5}, format="json")
    assert started.status_code == 201
    body = started.json()
    assert body["status"] == "running" and [v["variant"] for v in body["report"]["variants"]] == ["A", "B"]
    experiment_id = body["id"]
    from community_scoring.models import Experiment
    members = new_members(Experiment.objects.get(pk=experiment_id), count=10, at_least={"A": 1, "B": 1})
    a, b = one_of_each(members)
    assert admin.get(f"/api/v1/members/{b.pk}/").json()["experiment"] == {"id": experiment_id, "name": "x",
                                                                          "variant": "B"}
    assert admin.get(f"/api/v1/members/{a.pk}/").json()["experiment"]["variant"] == "A"
    assert admin.get(f"/api/v1/experiments/{experiment_id}/").json()["report"]["variants"][1]["members"] == sum(
        1 for _, v in members.values() if v == "B")
    assert admin.post(f"/api/v1/experiments/{experiment_id}/stop/", {"promote": "C"}, format="json").status_code == 400
    assert admin.post("/api/v1/experiments/999999/stop/", {}, format="json").status_code == 404
    stopped = admin.post(f"/api/v1/experiments/{experiment_id}/stop/", {"promote": "A"}, format="json")
    assert stopped.status_code == 200 and stopped.json()["promoted"] == "A"
    assert admin.get(f"/api/v1/members/{b.pk}/").json()["experiment"] is None
    again = admin.post(f"/api/v1/experiments/{experiment_id}/stop/", {"promote": "A"}, format="json")
    assert again.status_code == 400


@pytest.fixture
def signed_in(client, django_user_model):
    from django.contrib.auth.models import Group

    def sign_in(role):
        if role == "admin":
            user = django_user_model.objects.create_superuser("root", "root@x.test", "pw")
        else:
            user = django_user_model.objects.create_user(role, f"{role}@x.test", "pw")
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        client.force_login(user)
        return client

    return sign_in


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["community_manager", "marketing", "ingest"])
def test_the_page_is_for_admins(signed_in, role):
    client = signed_in(role)
    assert client.get("/settings/experiments/").status_code == 403
    assert client.post("/settings/experiments/", {"name": "x", "mql_threshold": "10"}).status_code == 403


@pytest.mark.django_db
def test_the_page_starts_with_a_threshold_reports_and_stops_promoting_b(signed_in, django_capture_on_commit_callbacks):
    install_test_config()
    client = signed_in("admin")
    assert "Live experiments" in client.get("/settings/scoring/").content.decode()  # linked from the settings
    bad = client.post("/settings/experiments/", {"name": "t", "share": "50", "mql_threshold": "lots"})
    assert bad.status_code == 400 and "mql_threshold" in bad.content.decode()
    response = client.post("/settings/experiments/", {"name": "threshold 10", "share": "40", "mql_threshold": "10"})
    assert response.status_code == 302
    from community_scoring.models import Experiment
    experiment = Experiment.objects.get()
    assert experiment.share == pytest.approx(0.4)
    mql = next(s for s in experiment.config_b["stages"] if s["name"] == "MQL")
    assert (mql["min_engagement"], mql["min_fit"]) == (10, 20)  # only the threshold changed
    page = client.get("/settings/experiments/").content.decode()
    assert "threshold 10" in page and "Stop and promote B" in page
    with django_capture_on_commit_callbacks(execute=True):
        stopped = client.post(f"/settings/experiments/{experiment.pk}/stop/", {"promote": "B"})
    assert stopped.status_code == 302
    assert Stage.objects.get(name="MQL").min_engagement == 10
    assert "B promoted" in ConfigVersion.objects.order_by("-number").first().note
