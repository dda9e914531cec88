"""Both interest store backends give a merged identity's events to its member, and remember the identity each
action and content named (what an unmerge gives back)."""
import pytest
from django.db import connection

from community_scoring import store
from community_scoring.models import Action, Content, Member
from community_scoring.services.events import ContentIn, EventIn, MemberIn
from community_scoring.services.identity import member_unmerge, members_merge
from community_scoring.services.ingest import actions_ingest
from community_scoring.store.postgres import PostgresInterestStore
from community_scoring.store.python import PythonInterestStore
from tests.forum_integration.helpers import T, bucket_points

BACKENDS = [PythonInterestStore] + ([PostgresInterestStore] if connection.vendor == "postgresql" else [])


@pytest.mark.django_db
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_events_of_a_merged_identity_count_for_its_member_and_keep_the_identity(backend, monkeypatch):
    monkeypatch.setitem(store.BACKENDS, connection.vendor, backend())
    person = Member.objects.create(source="forum", external_id="1", display_name="Ada")
    alias = Member.objects.create(source="slack", external_id="U1", display_name="ada")
    members_merge(into=person.pk, others=[alias.pk])

    results = actions_ingest(events=[
        EventIn(source="slack", event_id="s1", type="question", occurred_at=T, member=MemberIn("U1", name="Ada L."),
                content=ContentIn("q1", topic="api")),
        EventIn(source="slack", event_id="s2", type="vote_up", occurred_at=T, member=MemberIn("U2"),
                target_content=ContentIn("q1")),
        EventIn(source="slack", event_id="s3", type="follow", occurred_at=T, member=MemberIn("U2"),
                target_member=MemberIn("U1")),
    ])
    assert [r.status for r in results] == ["created"] * 3
    question, vote, follow = (Action.objects.get(external_event_id=e) for e in ("s1", "s2", "s3"))
    assert (question.member_id, question.identity_id) == (person.pk, alias.pk)
    assert (vote.target_member_id, vote.target_identity_id) == (person.pk, alias.pk)
    assert (follow.target_member_id, follow.target_identity_id) == (person.pk, alias.pk)
    content = Content.objects.get(external_id="q1")
    assert (content.author_id, content.author_identity_id) == (person.pk, alias.pk)
    alias.refresh_from_db()
    assert alias.display_name == "Ada L."  # what a source says of an identity stays that identity's
    assert bucket_points(person) == {("question", False): 5, ("vote_up", True): 2, ("follow", True): 1}

    member_unmerge(identity=alias.pk)
    assert bucket_points(alias) == {("question", False): 5, ("vote_up", True): 2, ("follow", True): 1}
    assert bucket_points(person) == {}
    content.refresh_from_db()
    assert (content.author_id, content.author_identity_id) == (alias.pk, None)
