"""Outcomes tests: the ground-truth community (ground_truth.py), loaded once per test module that asks for it,
the round-number test configuration (stages visitor 0, engaged 20, MQL 50 engagement + 20 fit) and helpers to build
outcomes and members with a known score-driven stage.

Ingesting the ground truth's ~10k actions through the one door takes ~5 s, so it is committed once per module
(outside the tests' transactions, which roll back what each test writes on top) and deleted afterwards; the teardown
checks that every table holds as many rows as before, so nothing leaks into other tests.
"""
from datetime import datetime, timedelta, timezone

import pytest
from django.apps import apps
from django.db import transaction

from community_scoring.outcomes.services.intake import OutcomeIn, OutcomeMemberIn
from tests.community_scoring.outcomes import ground_truth as gt
from tests.community_scoring.services.interest_helpers import install_test_config, record
from tests.factories import MemberFactory

T = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)  # outcomes happen around here (in the past)


@pytest.fixture
def config(db):
    return install_test_config()


def engaged_member(**fields):
    """A member at the score-driven stage "engaged": 3 answers = 24 points (answer 8, cap 40 a day)."""
    member = MemberFactory(source="forum", **fields)
    for i in range(3):
        record(member, "answer", day=59 + i * 0.01)
    member.interest.refresh_from_db()
    assert member.interest.stage == "engaged"
    return member


def outcome(outcome_id, type_="sql", *, at=T, source="crm", reason="", value="", **member) -> OutcomeIn:
    """An outcome naming its member by the keyword keys (external_id, email, crm_id; member_id for the admin)."""
    if not member:
        raise TypeError("name the member")
    return OutcomeIn(source=source, outcome_id=outcome_id, type=type_, occurred_at=at, reason=reason, value=value,
                     member=OutcomeMemberIn(**member))


def days(n: float) -> timedelta:
    return timedelta(days=n)


def _row_counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.managed}


@pytest.fixture(scope="module")
def ground_truth(django_db_setup, django_db_blocker):
    """(Generated, {external id: member id}) of the committed ground-truth community."""
    from community_scoring.models import Member
    from community_scoring.outcomes.models import Outcome

    with django_db_blocker.unblock():
        before = _row_counts()
        generated = gt.community_generate()
        try:
            with transaction.atomic():  # one transaction: ~4x faster than committing batch by batch
                ids = gt.community_load(generated)
            yield generated, ids
        finally:
            Outcome.objects.filter(member_id__in=Member.objects.filter(source="gt").values("pk")).delete()
            Member.objects.filter(source="gt").delete()
            after = _row_counts()
            leaked = {label: (before.get(label), n) for label, n in after.items() if before.get(label) != n}
            assert not leaked, f"the ground-truth community left rows behind: {leaked}"
