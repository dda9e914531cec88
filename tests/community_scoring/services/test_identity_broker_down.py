"""INTEREST_SCORING=worker with the broker down: identities a committed batch names are still linked (the batch's
resend changes nothing, so a lost linking task would never be queued again)."""
import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from community_scoring.models import InterestBucket, Member
from community_scoring.services.events import EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest

pytestmark = pytest.mark.django_db


def test_identities_sharing_a_crm_id_are_linked_when_the_broker_refuses_the_task(
        settings, monkeypatch, django_capture_on_commit_callbacks):
    settings.INTEREST_SCORING, settings.INTEREST_SCORERS = "worker", 1

    def refused(*args, **kwargs):
        raise BrokerError("[Errno 111] Connection refused")

    monkeypatch.setattr("community_scoring.tasks.members_link_task.delay", refused)
    monkeypatch.setattr("community_scoring.tasks.interest_partition_score_task.delay", refused)
    now = timezone.now()
    for source, external_id, event_id in (("forum", "7", "f1"), ("crm", "x", "c1")):
        with django_capture_on_commit_callbacks(execute=True):
            actions_ingest(events=[EventIn(source=source, event_id=event_id, type="answer", occurred_at=now,
                                           member=MemberIn(external_id=external_id, crm_id="CRM-1"))], now=now)
    forum, crm = Member.objects.get(source="forum"), Member.objects.get(source="crm")
    assert crm.merged_into_id == forum.pk
    # the scorer task was refused too: the actions wait for the sweep, and are then counted once, on the person
    from community_scoring.services.interest_queue import interest_pending_score

    interest_pending_score()
    assert {(b.member_id, b.action_type_id): b.count for b in InterestBucket.objects.all()} == {(forum.pk, "answer"): 2}
