"""store.compiled: a values() queryset compiled once with slots returns, for any values, the rows the same queryset
returns with those values written in (the ORM is the reference), as values() names them."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import CharField, DateTimeField, FloatField, IntegerField, Q

from community_scoring.models import InterestScore, Member
from community_scoring.store.compiled import Slot, query_compile
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
