"""store.compiled: a values() queryset compiled once with slots returns, for any values, the rows the same queryset
returns with those values written in (the ORM is the reference), as values() names them, as values_list() tuples
and as model instances."""
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import (
    BigIntegerField, CharField, DateField, DateTimeField, FloatField, IntegerField, OuterRef, Q, Subquery,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community_scoring.influence.models import InfluenceEdge, InfluenceRun, InfluenceScore
from community_scoring.models import ActionType, InterestScore, Member, ScoreSnapshot
from community_scoring.store.compiled import Slot, compiled_query, concrete_attnames, query_compile
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
AT = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _board(persona, since, after_score, limit):
    rows = InterestScore.objects.filter(member__is_excluded=False, member__persona=persona,
                                        last_activity_at__gte=since)
    rows = rows.filter(Q(score__lt=after_score) | Q(score=after_score, member_id__lt=10**12))
    return rows.values("member_id", "score", "last_activity_at", "member__display_name").order_by("-score")[:limit]


def test_compiled_rows_are_the_querysets_rows_for_each_value(django_assert_num_queries):
    for i in range(12):
        member = MemberFactory(persona=("developer", "marketer", "")[i % 3], is_excluded=i == 4, display_name=f"M{i}")
        InterestScore.objects.create(member=member, score=float(i % 5) + i / 100, engagement=1.0,
                                     last_activity_at=AT - timedelta(days=i))
    compiled = query_compile(_board(Slot("persona", CharField()), Slot("since", DateTimeField()),
                                    Slot("after", FloatField()), 4))
    for persona in ("developer", "marketer", "nobody"):
        for days in (0, 3, 30):
            for after in (100.0, 3.05, 1):
                values = {"persona": persona, "since": AT - timedelta(days=days), "after": after}
                with django_assert_num_queries(1):
                    found = compiled.rows(**values, unused="ignored")
                assert found == list(_board(persona, values["since"], after, 4))
    assert compiled.rows(persona="developer", since=AT - timedelta(days=30), after=100.0)  # not all empty
    assert list(compiled.rows(persona="developer", since=AT, after=100.0)[0]) == [
        "member_id", "score", "last_activity_at", "member__display_name"]


def test_a_query_that_matches_nothing_runs_no_query(django_assert_num_queries):
    compiled = query_compile(Member.objects.filter(pk__in=[]).values("id"))
    with django_assert_num_queries(0):
        assert compiled.rows() == []


def test_only_values_querysets_compile():
    with pytest.raises(ValueError):
        query_compile(Member.objects.filter(pk=Slot("id", IntegerField())))


def test_the_databases_converters_apply_as_in_values():
    """A JSON column comes back decoded (its field's converter), as values() gives it."""
    member = MemberFactory(attributes={"job_title": "engineer", "size": [1, 2]})
    compiled = query_compile(Member.objects.filter(pk=Slot("id", IntegerField())).values("id", "attributes"))
    assert compiled.converters  # the JSON field's
    assert compiled.rows(id=member.pk) == list(Member.objects.filter(pk=member.pk).values("id", "attributes")) == [
        {"id": member.pk, "attributes": {"job_title": "engineer", "size": [1, 2]}}]


# Per-member reads as the audience view makes them: a slot used twice, a slot inside subqueries next to a constant
# parameter, an optional filter (another shape, compiled apart), rows as tuples and as model instances.
DAY0 = date(2026, 1, 1)
MEMBER_ID, RUN_ID, SINCE = (Slot("member_id", BigIntegerField()), Slot("run_id", BigIntegerField()),
                            Slot("since", DateField()))


def _members_named(member_id):
    return Member.objects.filter(Q(pk=member_id) | Q(merged_into_id=member_id)).order_by("pk").values_list(
        "pk", "display_name", "attributes", "joined_at", "interest__score")


def _snapshots_since(member_id, since):
    rows = ScoreSnapshot.objects.filter(member_id=member_id).order_by("date")
    rows = rows if since is None else rows.filter(date__gte=since)
    return rows.values("date", "score", "stage")


def _edges(run_id, member_id):
    rank = InfluenceScore.objects.filter(run_id=run_id, member_id=OuterRef("source_id")).values("rank")[:1]
    name = Member.objects.filter(pk=OuterRef("source_id")).exclude(display_name="nobody").values("display_name")[:1]
    return (InfluenceEdge.objects.filter(run_id=run_id, member_id=member_id).order_by("source_id")
            .annotate(rank=Subquery(rank), name=Subquery(name)).values_list("source_id", "weight", "rank", "name"))


def _snapshot_rows(member_id):
    return ScoreSnapshot.objects.filter(member_id=member_id).order_by("-date").values_list(
        *concrete_attnames(ScoreSnapshot))[:5]


@pytest.fixture
def member_rows(db):
    ActionType.objects.get_or_create(key="follow", defaults={"label": "follow"})
    members = [MemberFactory(display_name=f"m{i}", attributes={"n": i, "tags": ["a", i]},
                             joined_at=datetime(2025, 1, 1 + i, tzinfo=UTC)) for i in range(4)]
    MemberFactory(merged_into=members[0], display_name="alias")
    runs = [InfluenceRun.objects.create(status=InfluenceRun.Status.DONE) for _ in range(2)]
    for run_index, run in enumerate(runs):
        for i, member in enumerate(members[:3]):
            InfluenceScore.objects.create(run=run, member=member, centrality=0.1, rank=i + 1 + run_index,
                                          percentile=50, centrality_percentile=50, influence_base=50, influence=50)
        for source in members[1:]:
            InfluenceEdge.objects.create(run=run, member=members[0], source=source, action_type_id="follow",
                                         actions=1, weight=1.5 * source.pk + run_index)
    for i, member in enumerate(members):
        for day in range(0, 40, 3 + i):
            ScoreSnapshot.objects.create(member=member, date=DAY0 + timedelta(days=day), engagement=day / 7, fit=1.0,
                                         score=day / 7 + 1, stage="engaged")
    return members, runs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(member=st.integers(0, 4), run=st.integers(0, 2), days=st.none() | st.integers(-5, 45))
def test_tuples_and_instances_are_the_querysets_rows(member_rows, member, run, days):
    members, runs = member_rows
    member_id = members[member].pk if member < len(members) else 10 ** 9  # the last: no such member
    run_id = runs[run].pk if run < len(runs) else 10 ** 9
    since = None if days is None else DAY0 + timedelta(days=days)
    assert query_compile(_members_named(MEMBER_ID)).tuples(member_id=member_id) == list(_members_named(member_id))
    snapshots = query_compile(_snapshots_since(MEMBER_ID, None if since is None else SINCE))
    assert snapshots.rows(member_id=member_id, since=since) == list(_snapshots_since(member_id, since))
    assert query_compile(_edges(RUN_ID, MEMBER_ID)).tuples(run_id=run_id, member_id=member_id) == list(
        _edges(run_id, member_id))
    reference = list(ScoreSnapshot.objects.filter(member_id=member_id).order_by("-date")[:5])
    loaded = query_compile(_snapshot_rows(MEMBER_ID)).instances(ScoreSnapshot, member_id=member_id)
    assert [(s.pk, s.member_id, s.date, s.engagement, s.fit, s.score, s.stage) for s in loaded] == [
        (s.pk, s.member_id, s.date, s.engagement, s.fit, s.score, s.stage) for s in reference]
    assert all(not s._state.adding and s._state.db == "default" for s in loaded)


def test_instances_load_some_fields_and_defer_the_rest(member_rows):
    members, _ = member_rows
    query = query_compile(Member.objects.filter(pk=MEMBER_ID).values_list("id", "display_name"))
    [member] = query.instances(Member, member_id=members[1].pk)
    assert member.display_name == "m1" and member.get_deferred_fields() >= {"email", "attributes"}
    assert member.attributes == {"n": 1, "tags": ["a", 1]}  # a deferred field loads when read, as with only()


def test_instances_refuse_columns_out_of_the_fields_order(db):
    query = query_compile(Member.objects.filter(pk=MEMBER_ID).values_list("display_name", "id"))
    with pytest.raises(ValueError, match="in their order"):  # from_db reads the columns in the fields' order
        query.instances(Member, member_id=1)


def test_a_decorated_builder_is_compiled_once_per_shape_and_vendor(monkeypatch):
    from django.db import connections

    built = []

    @compiled_query
    def members(*, limit: int):
        built.append(limit)
        return Member.objects.filter(pk__gte=Slot("low", BigIntegerField())).order_by("pk").values("pk")[:limit]

    MemberFactory(), MemberFactory(), MemberFactory()
    low = Member.objects.order_by("pk").values_list("pk", flat=True)[1]
    assert members(limit=1) is members(limit=1) and built == [1]
    assert [row["pk"] for row in members(limit=5).rows(low=low)] == list(
        Member.objects.filter(pk__gte=low).order_by("pk").values_list("pk", flat=True))
    assert built == [1, 5]
    monkeypatch.setattr(connections["default"], "vendor", "other")  # another database's SQL is compiled apart
    members(limit=1)
    assert built == [1, 5, 1]
