"""Outcomes tests: the round-number test configuration (stages visitor 0, engaged 20, MQL 50 engagement + 20 fit)
and helpers to build outcomes and members with a known score-driven stage."""
from datetime import datetime, timedelta, timezone

import pytest

from community_scoring.outcomes.services.intake import OutcomeIn, OutcomeMemberIn
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
