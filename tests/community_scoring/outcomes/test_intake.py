"""outcomes_record: each outcome checked on its own (errors by field), its member resolved (external_id within the
source, crm_id and email across sources, merged identities to their person), stored once per (source, id) even
when sent twice at once; outcomes follow the person through merges and unmerges."""
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from community_scoring.models import InterestScore, Member, StageTransition
from community_scoring.outcomes.models import Outcome
from community_scoring.outcomes.services import intake
from community_scoring.outcomes.services.intake import OutcomeIn, OutcomeMemberIn, outcome_check, outcomes_record
from community_scoring.services.identity import member_unmerge, members_merge
from tests.community_scoring.outcomes.conftest import T, days, outcome
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def statuses(results):
    return [r.status for r in results]


def stored(source="crm", outcome_id="o-1"):
    return Outcome.objects.get(source=source, outcome_id=outcome_id)


# ---- idempotency ---------------------------------------------------------------------------------------------------

def test_the_same_outcome_twice_in_one_batch_counts_once():
    MemberFactory(source="crm", external_id="c-1")
    results = outcomes_record(outcomes=[outcome("o-1", external_id="c-1"), outcome("o-1", external_id="c-1")])
    assert statuses(results) == ["created", "duplicate"]
    assert results[1].outcome.pk == results[0].outcome.pk
    assert Outcome.objects.count() == 1


def test_the_same_outcome_in_a_later_batch_is_a_duplicate_and_changes_nothing():
    MemberFactory(source="crm", external_id="c-1")
    outcomes_record(outcomes=[outcome("o-1", "sql", external_id="c-1", reason="first")])
    (again,) = outcomes_record(outcomes=[outcome("o-1", "won", external_id="c-1", reason="second")])
    assert again.status == "duplicate"
    assert (stored().type, stored().reason) == ("sql", "first")


def test_the_same_id_from_another_source_is_another_outcome():
    MemberFactory(source="crm", external_id="c-1")
    MemberFactory(source="product", external_id="c-1")
    results = outcomes_record(outcomes=[outcome("o-1", external_id="c-1", source="crm"),
                                        outcome("o-1", external_id="c-1", source="product")])
    assert statuses(results) == ["created", "created"]


def test_an_outcome_stored_between_the_check_and_the_insert_is_a_duplicate(monkeypatch, config):
    """The race two requests run: both see nothing stored; the unique constraint lets one in."""
    member = MemberFactory(source="crm", external_id="c-1")
    outcomes_record(outcomes=[outcome("o-1", "sql", external_id="c-1")])
    real, calls = intake._stored, []

    def first_sees_nothing(keys):
        calls.append(keys)
        return {} if len(calls) == 1 else real(keys)

    monkeypatch.setattr(intake, "_stored", first_sees_nothing)
    (result,) = outcomes_record(outcomes=[outcome("o-1", "won", external_id="c-1")])
    assert result.status == "duplicate" and result.outcome.type == "sql"
    assert Outcome.objects.count() == 1
    assert InterestScore.objects.get(member=member).sales_stage == "SQL"  # the won never applied


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_the_same_outcomes_store_each_once():
    MemberFactory(source="crm", external_id="c-1")
    batch = [outcome(f"o-{i}", "converted", value="trial", external_id="c-1") for i in range(20)]
    barrier, results = threading.Barrier(2), {}

    def post(name):
        try:
            barrier.wait()
            results[name] = statuses(outcomes_record(outcomes=batch))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Outcome.objects.count() == 20
    for i in range(20):  # each outcome created by exactly one of the two
        assert sorted([results["a"][i], results["b"][i]]) == ["created", "duplicate"]


# ---- errors by field ----------------------------------------------------------------------------------------------

GOOD = {"source": "crm", "outcome_id": "o-9", "type": "sql", "occurred_at": "2026-03-01T12:00:00Z",
        "reason": "", "value": ""}


@pytest.mark.parametrize("change, field, message", [
    ({"source": ""}, "source", "required"),
    ({"source": "s" * 65}, "source", "at most 64 characters"),
    ({"source": 7}, "source", "must be a string"),
    ({"outcome_id": None}, "outcome_id", "required"),
    ({"outcome_id": ["x"]}, "outcome_id", "must be a string or an integer"),
    ({"type": "maybe"}, "type", "unknown outcome type 'maybe'"),
    ({"type": None}, "type", "required"),
    ({"occurred_at": "yesterday"}, "occurred_at", "bad timestamp"),
    ({"occurred_at": "2026-03-01T12:00:00Z\x00junk"}, "occurred_at", "bad timestamp"),  # Python reads the prefix
    ({"occurred_at": "2026-03-01T12:00:00"}, "occurred_at", "must include a timezone"),
    ({"occurred_at": 1700000000}, "occurred_at", "must be an ISO 8601 timestamp string"),
    ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at", "is in the future"),
    ({"occurred_at": "1969-12-31T00:00:00Z"}, "occurred_at", "is before 1970"),
    ({"reason": "r" * 2001}, "reason", "at most 2000 characters"),
    ({"reason": "a\x00b"}, "reason", "must not contain NUL characters"),
    ({"value": True}, "value", "must be a conversion name or an amount"),
    ({"value": float("nan")}, "value", "must be a finite amount"),
    ({"value": "1e15"}, "value", "amount out of range"),
    ({"value": "v" * 192}, "value", "at most 191 characters"),
])
def test_a_bad_field_rejects_only_its_outcome_naming_the_field(change, field, message):
    MemberFactory(source="crm", external_id="c-1")
    bad = OutcomeIn(**{**GOOD, **change}, member=OutcomeMemberIn(external_id="c-1"))
    results = outcomes_record(outcomes=[bad, outcome("o-ok", "converted", external_id="c-1")])
    assert statuses(results) == ["rejected", "created"]
    assert list(results[0].errors) == [field]
    assert results[0].errors[field][0].startswith(message)
    assert not Outcome.objects.filter(outcome_id="o-9").exists()


@pytest.mark.parametrize("member, field, message", [
    (None, "member", "required"),
    (OutcomeMemberIn(), "member", "give external_id"),
    (OutcomeMemberIn(email=5), "member.email", "must be a string"),
    (OutcomeMemberIn(crm_id="c" * 192), "member.crm_id", "at most 191 characters"),
    (OutcomeMemberIn(external_id="nobody"), "member", "no member with external_id 'nobody' in source 'crm'"),
])
def test_member_errors(member, field, message):
    (result,) = outcomes_record(outcomes=[OutcomeIn(**GOOD, member=member)])
    assert result.status == "rejected" and result.outcome_id == "o-9"
    assert list(result.errors) == [field] and result.errors[field][0].startswith(message)


def test_several_errors_are_all_named():
    (result,) = outcomes_record(outcomes=[OutcomeIn(source="", outcome_id=3, type="x", occurred_at=None,
                                                    member=None)])
    assert result.outcome_id == "3"
    assert set(result.errors) == {"source", "type", "occurred_at", "member"}


# ---- value --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text, amount", [
    ("trial", "trial", None), ("1200.50", "1200.50", Decimal("1200.50")), (99, "99", Decimal("99.00")),
    (12.345, "12.345", Decimal("12.35")), ("-40", "-40", Decimal("-40.00")), ("NaN", "NaN", None), ("", "", None),
])
def test_value_is_a_conversion_name_or_an_amount(value, text, amount):
    MemberFactory(source="crm", external_id="c-1")
    outcomes_record(outcomes=[outcome("o-1", "converted", value=value, external_id="c-1")])
    assert (stored().value, stored().amount) == (text, amount)


def test_what_is_stored(config):
    member = MemberFactory(source="crm", external_id="c-1")
    now = timezone.now()
    outcomes_record(outcomes=[outcome(" o-1 ", "won", at="2026-03-01T13:00:00+01:00", reason=" big deal ",
                                      value="purchase", external_id="c-1")], recorded_by="token crm (ingest)",
                    now=now)
    o = stored()
    assert (o.member_id, o.identity_id, o.type, o.occurred_at, o.reason, o.value, o.recorded_by) == (
        member.pk, None, "won", T, "big deal", "purchase", "token crm (ingest)")


# ---- member resolution --------------------------------------------------------------------------------------------

def test_external_id_is_resolved_within_the_outcomes_source():
    forum = MemberFactory(source="forum", external_id="u-1")
    crm = MemberFactory(source="crm", external_id="u-1")
    results = outcomes_record(outcomes=[outcome("o-1", external_id="u-1", source="crm"),
                                        outcome("o-2", external_id="u-1", source="forum"),
                                        outcome("o-3", external_id="u-1", source="billing")])
    assert statuses(results) == ["created", "created", "rejected"]
    assert stored("crm", "o-1").member_id == crm.pk and stored("forum", "o-2").member_id == forum.pk
    assert results[2].errors == {"member": ["no member with external_id 'u-1' in source 'billing'"]}


def test_email_is_case_insensitive_across_sources():
    ada = MemberFactory(source="forum", email="Ada@Example.com")
    outcomes_record(outcomes=[outcome("o-1", email="ada@EXAMPLE.com", source="crm")])
    assert stored().member_id == ada.pk


def test_email_prefers_the_verified_identity():
    MemberFactory(source="forum", email="ada@example.com")
    verified = MemberFactory(source="docs", email="ADA@example.com", email_verified=True)
    outcomes_record(outcomes=[outcome("o-1", email="ada@example.com")])
    assert stored().member_id == verified.pk


def test_an_email_naming_two_people_is_rejected():
    MemberFactory(source="forum", email="ada@example.com")
    MemberFactory(source="docs", email="ada@example.com")
    (result,) = outcomes_record(outcomes=[outcome("o-1", email="ada@example.com")])
    assert result.status == "rejected"
    assert result.errors == {"member.email": ["matches several members; send external_id or crm_id"]}


def test_crm_id_works_across_sources():
    bea = MemberFactory(source="forum", crm_id="0031x")
    outcomes_record(outcomes=[outcome("o-1", crm_id="0031x", source="salesforce")])
    assert stored("salesforce").member_id == bea.pk


def test_the_first_key_that_names_someone_wins():
    by_crm = MemberFactory(source="forum", crm_id="0031x")
    MemberFactory(source="forum", email="other@example.com")
    outcomes_record(outcomes=[outcome("o-1", external_id="missing", crm_id="0031x", email="other@example.com")])
    assert stored().member_id == by_crm.pk


def test_a_merged_identity_resolves_to_its_person_and_is_recorded():
    person = MemberFactory(source="forum", external_id="p", email="p@example.com")
    alias = MemberFactory(source="crm", external_id="a", crm_id="0031x")
    members_merge(into=person.pk, others=[alias.pk])
    results = outcomes_record(outcomes=[
        outcome("o-1", external_id="a"),  # the alias by external id
        outcome("o-2", crm_id="0031x"),  # the alias by crm id
        outcome("o-3", email="p@example.com"),  # the person's own identity
    ])
    assert statuses(results) == ["created"] * 3
    assert [(stored(outcome_id=i).member_id, stored(outcome_id=i).identity_id) for i in ("o-1", "o-2", "o-3")] == [
        (person.pk, alias.pk), (person.pk, alias.pk), (person.pk, None)]


def test_outcome_check_reports_without_writing():
    MemberFactory(source="crm", external_id="c-1")
    assert outcome_check(outcome=outcome("o-1", external_id="c-1")) == {}
    assert outcome_check(outcome=outcome("o-1", external_id="zz")) == {
        "member": ["no member with external_id 'zz' in source 'crm'"]}
    assert outcome_check(outcome=outcome("o-1", "nope", external_id="c-1"))["type"]
    assert not Outcome.objects.exists()


# ---- merges ------------------------------------------------------------------------------------------------------

def test_outcomes_follow_the_person_through_a_merge_and_back_through_an_unmerge(config):
    person = MemberFactory(source="forum", external_id="p")
    alias = MemberFactory(source="crm", external_id="a")
    outcomes_record(outcomes=[outcome("o-1", "opportunity", at=T, external_id="a", reason="demo"),
                              outcome("o-2", "sql", at=T - days(3), external_id="p", source="forum")])
    assert InterestScore.objects.get(member=alias).sales_stage == "opportunity"
    assert InterestScore.objects.get(member=person).sales_stage == "SQL"

    members_merge(into=person.pk, others=[alias.pk])
    assert (stored().member_id, stored().identity_id) == (person.pk, alias.pk)
    score = InterestScore.objects.get(member=person)
    assert (score.sales_stage, score.sales_stage_outcome, score.sales_stage_reason) == ("opportunity", "opportunity",
                                                                                        "demo")
    assert StageTransition.objects.filter(member=person, reason="merge", from_stage="SQL",
                                          to_stage="opportunity").count() == 1
    assert not InterestScore.objects.filter(member=alias).exists()

    member_unmerge(identity=alias.pk)
    assert (stored().member_id, stored().identity_id) == (alias.pk, None)
    assert stored("forum", "o-2").member_id == person.pk
    assert InterestScore.objects.get(member=person).sales_stage == "SQL"
    assert InterestScore.objects.get(member=alias).sales_stage == "opportunity"
    assert StageTransition.objects.filter(member=person, reason="unmerge", from_stage="opportunity",
                                          to_stage="SQL").count() == 1


def test_a_merged_members_own_outcomes_keep_the_identity_they_named():
    person = MemberFactory(source="forum", external_id="p")
    middle = MemberFactory(source="crm", external_id="m")
    alias = MemberFactory(source="docs", external_id="d")
    members_merge(into=middle.pk, others=[alias.pk])
    outcomes_record(outcomes=[outcome("o-1", "converted", external_id="d", source="docs")])
    assert (stored("docs").member_id, stored("docs").identity_id) == (middle.pk, alias.pk)
    members_merge(into=person.pk, others=[middle.pk])
    assert (stored("docs").member_id, stored("docs").identity_id) == (person.pk, alias.pk)
    member_unmerge(identity=alias.pk)
    assert (stored("docs").member_id, stored("docs").identity_id) == (alias.pk, None)
    assert Member.objects.get(pk=middle.pk).merged_into_id == person.pk
