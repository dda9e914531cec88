"""manage.py audit_interest (services.audit): scores equal the log, each action counted once, nothing waiting."""
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from community_scoring.models import InterestBucket, InterestPending, InterestScore, RecomputeJob
from community_scoring.services.audit import interest_audit
from tests.community_scoring.services.interest_helpers import install_test_config, record
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def community(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        install_test_config()  # and run the recompute it starts
    members = MemberFactory.create_batch(3)
    now = timezone.now()
    for day, (actor, target) in enumerate([(0, 1), (1, 2), (2, 0), (0, 2)]):
        record(members[actor], "answer", occurred_at=now - timezone.timedelta(days=10 - day))
        record(members[actor], "vote_up", target_member=members[target],
               occurred_at=now - timezone.timedelta(days=9 - day))
    record(members[1], "comment", occurred_at=now - timezone.timedelta(hours=2))
    return members


def audit_command() -> tuple[dict, bool]:
    out = StringIO()
    try:
        call_command("audit_interest", stdout=out)
        failed = False
    except CommandError:
        failed = True
    return json.loads(out.getvalue()), failed


def test_a_live_scored_community_passes(community):
    report, failed = audit_command()
    assert not failed and report["ok"]
    assert report["members"] == 3 and report["actions"] == 9 == report["in_buckets"]
    assert report["mismatches"] == 0 and report["pending"] == 0


def test_a_score_that_differs_from_the_log_is_named(community):
    score = InterestScore.objects.get(member=community[1])
    InterestScore.objects.filter(pk=score.pk).update(engagement=score.engagement + 0.5)
    report, failed = audit_command()
    assert failed and not report["ok"] and report["mismatches"] == 1
    assert report["first_mismatches"][0]["member"] == community[1].pk


def test_an_action_counted_twice_or_lost_is_seen(community):
    bucket = InterestBucket.objects.filter(member=community[0], received=False).first()
    InterestBucket.objects.filter(pk=bucket.pk).update(count=bucket.count + 1)
    audit = interest_audit()
    assert audit.in_buckets == audit.actions + 1 and not audit.ok


def test_work_still_waiting_fails_the_audit(community):
    InterestPending.objects.create(action_ids=[], partition=0, partitions=1)
    assert interest_audit().pending == 1 and not interest_audit().ok
    InterestPending.objects.update(failed_at=timezone.now(), error="boom")
    assert interest_audit().set_aside == 1 and not interest_audit().ok
    InterestPending.objects.all().delete()
    RecomputeJob.objects.create(kind=RecomputeJob.Kind.INTEREST, status=RecomputeJob.Status.RUNNING)
    assert interest_audit().unfinished_jobs == 1 and not interest_audit().ok
