"""Identities whose linking was lost after their batch committed are linked by the periodic sweep.

With INTEREST_SCORING=worker, a batch that gives an identity a crm_id (or a verified email) links it once the batch
commits. If the process dies, or the database goes away, between that commit and the linking, the client's resend
is all duplicates and changes nothing, so nothing would ever link the two identities: one person stays two members.
"""
import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from community_scoring.models import InterestBucket, Member
from community_scoring.services.events import EventIn, MemberIn
from community_scoring.services.identity import member_unmerge, members_link_sweep
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.interest_queue import interest_pending_score
from community_scoring.tasks import members_link_sweep_task

pytestmark = pytest.mark.django_db


class Died(Exception):
    """The process stopped right after the batch's commit."""


def answer(source: str, external_id: str, event_id: str, **keys) -> EventIn:
    return EventIn(source=source, event_id=event_id, type="answer", occurred_at=timezone.now(),
                   member=MemberIn(external_id=external_id, **keys))


@pytest.fixture
def lost_linking(settings, monkeypatch, django_capture_on_commit_callbacks):
    """Send each batch as a worker-mode process that dies right after the commit, then resend it."""
    settings.INTEREST_SCORING, settings.INTEREST_SCORERS = "worker", 1

    def died(ids):
        raise Died

    def send(events):
        with monkeypatch.context() as patch:
            patch.setattr("community_scoring.services.identity._link_task_start", died)
            with pytest.raises(Died), django_capture_on_commit_callbacks(execute=True):
                actions_ingest(events=events)
        with django_capture_on_commit_callbacks(execute=True):
            results = actions_ingest(events=events)  # the resend
        assert {r.status for r in results} == {"duplicate"}
    return send


def test_two_identities_of_one_crm_id_left_unlinked_are_merged_by_the_sweep(lost_linking):
    lost_linking([answer("forum", "7", "f1", crm_id="CRM-1")])
    lost_linking([answer("crm", "x", "c1", crm_id="CRM-1")])
    forum, crm = Member.objects.get(source="forum"), Member.objects.get(source="crm")
    assert crm.merged_into_id is None  # the resends linked nothing

    assert members_link_sweep() == [forum.pk]
    crm.refresh_from_db()
    assert crm.merged_into_id == forum.pk
    interest_pending_score()
    assert {(b.member_id, b.action_type_id): b.count for b in InterestBucket.objects.all()} == {(forum.pk, "answer"): 2}
    assert members_link_sweep() == []  # nothing left: a second sweep changes nothing


def test_a_verified_email_shared_across_sources_is_linked_case_insensitively(lost_linking):
    lost_linking([answer("forum", "7", "f1", email="Ada@Example.com", email_verified=True)])
    lost_linking([answer("crm", "x", "c1", email="ada@example.com", email_verified=True)])
    members_link_sweep()
    assert Member.objects.get(source="crm").merged_into_id == Member.objects.get(source="forum").pk


def test_unverified_emails_and_unmerged_identities_stay_apart(lost_linking):
    actions_ingest(events=[answer("forum", "7", "f1", email="bo@example.com"),
                           answer("crm", "x", "c1", email="bo@example.com")])
    assert members_link_sweep() == []  # an unverified email proves nothing

    lost_linking([answer("forum", "8", "f2", crm_id="CRM-2")])
    lost_linking([answer("crm", "y", "c2", crm_id="CRM-2")])
    members_link_sweep()
    other = Member.objects.get(source="crm", external_id="y")
    assert other.merged_into_id is not None
    member_unmerge(identity=other.pk, by="admin")  # an admin said these are two people
    assert members_link_sweep() == []
    assert Member.objects.get(pk=other.pk).merged_into_id is None


def test_the_sweep_is_scheduled():
    task = PeriodicTask.objects.get(task=members_link_sweep_task.name)
    assert task.enabled and task.interval.every == 10 and task.interval.period == "minutes"


def test_the_sweep_finds_exactly_the_identities_that_linking_would_merge():
    """One rule for "the same person" (selectors.identity.LINK_KEYS): over identities with every mix of crm_id,
    email case and verification, the sweep's candidates are the identities that share a key with another person."""
    from community_scoring.selectors.identity import identities_sharing, identities_unlinked

    keys = [("", "", False), ("C1", "", False), ("c1", "", False), ("", "A@x.io", True), ("", "a@X.IO", True),
            ("", "a@x.io", False), ("C2", "b@x.io", True), ("", "B@X.io", False), ("C3", "", True), ("C3", "z@x.io", False)]
    for k, (crm_id, email, verified) in enumerate(keys):
        Member.objects.create(source="s", external_id=str(k), crm_id=crm_id, email=email, email_verified=verified)
    ids = {m.external_id: m.pk for m in Member.objects.all()}
    expected = {pk for pk in ids.values() if identities_sharing(pk)}
    assert {ext for ext, pk in ids.items() if pk in expected} == {"3", "4", "8", "9"}  # crm ids are case-sensitive
    assert set(identities_unlinked()) == expected
