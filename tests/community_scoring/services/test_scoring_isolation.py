"""One member's data never stops another member's scoring (issue: a 10**400 attribute stopped a partition)."""
from datetime import timedelta

import pytest

from community_scoring.models import Action, InterestPending, InterestScore, Member
from community_scoring.scoring.fit import parse_number
from community_scoring.services.events import EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.interest_queue import interest_pending_retry, interest_pending_score
from community_scoring.services.recompute import interest_recompute
from community_scoring.store import postgres, python
from tests.community_scoring.services.interest_helpers import T0, install_test_config


def comment(event_id: str, member: str, **member_fields) -> EventIn:
    return EventIn(source="t", event_id=event_id, type="comment", occurred_at=T0 + timedelta(days=1),
                   member=MemberIn(external_id=member, **member_fields))


@pytest.mark.parametrize("value", [10**400, -(10**400), float("inf"), float("nan"), "1" + "0" * 400])
def test_numbers_no_float_holds_are_not_numbers(value):
    assert parse_number(value) is None


def test_large_but_finite_numbers_still_compare():
    assert parse_number(10**300) == 1e300
    assert parse_number("2,500 employees") == 2500.0


@pytest.mark.django_db
def test_a_huge_attribute_scores_like_an_unmatched_one_and_a_recompute_still_runs():
    install_test_config()
    poisoned = Member.objects.create(source="t", external_id="huge", attributes={"company_size": 10**400,
                                                                                 "job_title": "engineer"})
    results = actions_ingest(events=[comment("1", "huge"), comment("2", "plain")])
    assert [r.status for r in results] == ["created", "created"]
    score = InterestScore.objects.get(member=poisoned)
    assert (score.engagement, score.fit) == (3, 10)  # the comment's 3 points; "company_size >= 200" cannot match
    assert InterestScore.objects.get(member__external_id="plain").engagement == 3
    interest_recompute(now=T0 + timedelta(days=1))
    assert InterestScore.objects.get(member=poisoned).fit == 10


@pytest.mark.django_db
@pytest.mark.parametrize("backend", [postgres, python])
def test_an_action_that_cannot_be_scored_is_set_aside_and_the_rest_of_the_batch_is_scored(backend, monkeypatch):
    install_test_config()
    real_rules_for = backend.rules_for

    def rules_for(config, member):
        if member.external_id == "bad":
            raise OverflowError("int too large to convert to float")
        return real_rules_for(config, member)

    monkeypatch.setattr(backend, "rules_for", rules_for)
    if backend is python:
        monkeypatch.setitem(__import__("community_scoring.store", fromlist=["BACKENDS"]).BACKENDS, "postgresql",
                            python.PythonInterestStore())
    results = actions_ingest(events=[comment("1", "good"), comment("2", "bad"), comment("3", "other")])
    assert [r.status for r in results] == ["created"] * 3

    assert InterestScore.objects.get(member__external_id="good").engagement == 3
    assert InterestScore.objects.get(member__external_id="other").engagement == 3
    aside = InterestPending.objects.get()
    bad_action = Action.objects.get(external_event_id="2")
    assert aside.action_ids == [bad_action.pk]
    assert aside.error == "OverflowError: int too large to convert to float"
    assert aside.failed_at is not None
    interest_pending_score()  # the sweep leaves a set-aside row alone
    assert InterestPending.objects.filter(pk=aside.pk).exists()

    monkeypatch.setattr(backend, "rules_for", real_rules_for)  # the cause is fixed
    assert interest_pending_retry(row_ids=[aside.pk]) == 1
    interest_pending_score()
    assert not InterestPending.objects.exists()
    assert InterestScore.objects.get(member__external_id="bad").engagement == 3  # scored once
    assert InterestScore.objects.get(member__external_id="good").engagement == 3  # not again
