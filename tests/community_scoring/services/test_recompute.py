"""Full recompute from the log: repairs drift, chunks with progress, is idempotent, and the command reports it."""
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from community_scoring.models import InterestBucket, InterestScore, RecomputeJob
from community_scoring.services.members import member_upsert
from community_scoring.services.recompute import interest_recompute
from tests.community_scoring.services.interest_helpers import T0, install_test_config, record
from tests.factories import ContentFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def config():
    return install_test_config()


def buckets():
    return sorted(InterestBucket.objects.values_list("member_id", "action_type_id", "received", "day", "count", "points"))


def test_recompute_repairs_drift_and_is_idempotent():
    voter, author = MemberFactory(), MemberFactory()
    post = ContentFactory(author=author, topic="python")
    for i in range(12):
        record(voter, "vote_up", day=0.1, target_content=post)
    record(voter, "answer", day=10.5, target_content=post)
    expected = buckets()
    InterestScore.objects.update(engagement=999, stage="MQL")
    InterestBucket.objects.filter(member=voter).delete()
    now = T0 + timedelta(days=20)
    job = RecomputeJob.objects.create(kind="interest")
    result = interest_recompute(job_id=job.pk, chunk_size=1, now=now)
    assert (result.members, result.actions) == (2, 13)
    assert buckets() == expected
    voter_score = InterestScore.objects.get(member=voter)
    assert voter_score.ref_time == now
    assert voter_score.engagement == pytest.approx(10 * 2 ** -2 + 8 * 2 ** -1)  # valued on day 20
    assert InterestScore.objects.get(member=author).engagement == pytest.approx(10 * 2 ** -2)
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 2, 2)
    assert job.finished_at is not None
    interest_recompute(now=now)
    assert buckets() == expected
    assert InterestScore.objects.get(member=voter).engagement == pytest.approx(10 * 2 ** -2 + 8 * 2 ** -1)


def test_persona_change_rescored_from_the_log():
    member = member_upsert(source="test", external_id="p1")
    record(member, "answer", day=0)
    assert InterestScore.objects.get(member=member).engagement == 8
    member_upsert(source="test", external_id="p1", persona="developer", attributes={"job_title": "Engineer"})
    score = InterestScore.objects.get(member=member)
    assert score.fit == 10
    ref = (score.ref_time - T0).total_seconds() / 86400
    assert score.engagement == pytest.approx(20 * 2 ** (-ref / 10))  # developer answers earn 20


def test_recompute_interest_command_prints_what_it_did():
    members = [MemberFactory() for _ in range(3)]
    for m in members:
        record(m, "answer", day=1)
    record(members[0], "question", day=2)
    out = StringIO()
    call_command("recompute_interest", "--chunk-size", "2", stdout=out)
    text = out.getvalue()
    assert re.search(r"3 members, 4 actions, 0 stage changes in \d+\.\d\d s", text), text
    assert "config v2" in text
    job = RecomputeJob.objects.latest("created_at")
    assert (job.status, job.done, job.total) == ("done", 3, 3)


def test_attribute_change_refreshes_fit_and_stage_only():
    member = member_upsert(source="test", external_id="f1")
    for day in (0.5,) * 5 + (1.5,) * 2:
        record(member, "answer", day=day)  # 40 on day 0, 16 on day 1
    before = InterestScore.objects.get(member=member)
    engagement = 40 * 2 ** -0.1 + 16  # 53.3
    assert (before.engagement, before.stage) == (pytest.approx(engagement), "engaged")
    member_upsert(source="test", external_id="f1", attributes={"job_title": "Engineer", "company_size": 900})
    after = InterestScore.objects.get(member=member)
    assert (after.engagement, after.ref_time, after.fit) == (before.engagement, before.ref_time, 25)
    assert after.stage == "MQL"  # engagement >= 50 and now fit >= 20
    transition = member.stage_transitions.latest("id")
    assert (transition.from_stage, transition.to_stage, transition.reason) == ("engaged", "MQL", "fit")
    member_upsert(source="test", external_id="f1", attributes={"company_size": 10})
    assert InterestScore.objects.get(member=member).stage == "engaged"
