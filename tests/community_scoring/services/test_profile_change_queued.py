"""A batch that changes a member's profile queues the re-evaluation with the change, in the batch's transaction.

Found by the PostgreSQL-restart fault run (tests/production): fit was re-evaluated after the batch committed, in a
transaction of its own. With the database lost in between, the client got 503 and sent the batch again; the resend
was all duplicates with the profile already stored, so nothing re-evaluated it: 9 of 2,000 members kept a stale fit.
Here the process "dies" right after the commit (the dispatch of the batch's scoring raises), and the batch is sent
again: every score must still equal the log's (audit_interest), on both stores.
"""
import pytest
from django.db import connection
from django.utils import timezone

from community_scoring import store
from community_scoring.models import InterestPending, InterestScore, Member
from community_scoring.selectors.interest import interest_current
from community_scoring.services.audit import interest_audit
from community_scoring.services.events import EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.interest_queue import interest_pending_score
from community_scoring.store.postgres import PostgresInterestStore
from community_scoring.store.python import PythonInterestStore
from tests.community_scoring.services.interest_helpers import install_test_config

pytestmark = pytest.mark.django_db

BACKENDS = [PythonInterestStore()] + ([PostgresInterestStore()] if connection.vendor == "postgresql" else [])


class Died(Exception):
    """The process stopped between the batch's commit and what came after it."""


@pytest.fixture(params=BACKENDS, ids=lambda backend: backend.name)
def backend(request, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setitem(store.BACKENDS, connection.vendor, request.param)
    with django_capture_on_commit_callbacks(execute=True):
        install_test_config()
    return request.param


def event(event_id: str, external_id: str, when, **profile) -> EventIn:
    return EventIn(source="forum", event_id=event_id, type="answer", occurred_at=when,
                   member=MemberIn(external_id=external_id, **profile))


def send_and_die(events, monkeypatch, *, now):
    """The batch commits; the process dies before anything after the commit runs."""
    def died(*args, **kwargs):
        raise Died
    with monkeypatch.context() as patch:
        patch.setattr("community_scoring.services.ingest.interest_pending_dispatch", died)
        with pytest.raises(Died):
            actions_ingest(events=events, now=now)


@pytest.mark.parametrize("profile, fit, engagement_factor", [
    # the test configuration's fit: 10 for an engineer's title, 15 for a company of 200 or more
    ({"attributes": {"job_title": "Staff engineer", "company_size": "500"}}, 25.0, 1.0),
    # a persona with its own rule set: 20 per answer instead of 8, no fit rules (re-scored from the log)
    ({"persona": "developer"}, 0.0, 20 / 8),
], ids=["attributes", "persona"])
def test_a_profile_change_committed_before_a_crash_is_re_evaluated_after_the_resend(backend, monkeypatch, profile,
                                                                                   fit, engagement_factor):
    now = timezone.now()
    early = now - timezone.timedelta(minutes=5)
    actions_ingest(events=[event("a1", "ada", early), event("b1", "bo", early)], now=early)
    ada = Member.objects.get(external_id="ada")
    before = interest_current(member=ada, when=now)
    assert before["fit"] == 0.0 and before["engagement"] > 0

    # ada's second answer is a resend of a1 carrying her new profile: the batch adds bo's answer, and only changes ada
    batch = [event("a1", "ada", early, **profile), event("b2", "bo", now)]
    send_and_die(batch, monkeypatch, now=now)
    assert InterestPending.objects.exists()  # the change was queued with the commit

    results = actions_ingest(events=batch, now=now)  # the client's retry: all duplicates, and changes nothing
    assert [r.status for r in results] == ["duplicate", "duplicate"]
    interest_pending_score()  # the periodic sweep (beat, every minute), or the next batch's scorer

    shown = interest_current(member=Member.objects.get(pk=ada.pk), when=now)
    assert shown["fit"] == pytest.approx(fit)
    assert shown["engagement"] == pytest.approx(before["engagement"] * engagement_factor)
    audit = interest_audit()
    assert audit.ok, audit.as_dict()
    assert not InterestPending.objects.exists()


def test_a_batch_that_only_changes_a_profile_queues_it(backend, monkeypatch):
    """No new action at all (every event a duplicate) but a new profile: still queued in the batch's transaction."""
    now = timezone.now()
    actions_ingest(events=[event("a1", "ada", now)], now=now)
    send_and_die([event("a1", "ada", now, attributes={"job_title": "engineer"})], monkeypatch, now=now)
    pending = list(InterestPending.objects.values_list("action_ids", "refit"))
    ada = Member.objects.get(external_id="ada")
    assert pending and all(action_ids == [] and refit == [ada.pk] for action_ids, refit in pending)

    interest_pending_score()  # the periodic sweep, or the next batch's scorer
    assert InterestScore.objects.get(member=ada).fit == pytest.approx(10.0)
    assert interest_audit().ok
