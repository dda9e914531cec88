"""One person, one member, through the API: identities linked by verified email or crm_id, merge and unmerge.

Points from the default rules (migration 0002): question 5, comment 3, vote_up 1 to the voter and 2 to the
author. All actions fall on one past UTC day (helpers.T), so engagement is the plain sum of points.
"""
import pytest

from community_scoring.models import Action, InterestScore, Member, MergeBlock
from tests.forum_integration.helpers import T_ISO, bucket_points

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/events/"


def event(source, event_id, type_, member, **extra):
    return {"source": source, "event_id": event_id, "type": type_, "occurred_at": T_ISO, "member": member, **extra}


@pytest.fixture
def ingest(token_client):
    client = token_client("ingest")

    def send(*events):
        response = client.post(EVENTS, {"events": list(events)}, format="json")
        assert response.status_code in (200, 201, 207), response.content
        return response.json()

    return send


@pytest.fixture
def admin(token_client):
    return token_client("admin")


def earned(member):
    """Points the member's buckets hold (each action counted once, before decay)."""
    return sum(bucket_points(member).values())


def identity(source, external_id):
    return Member.objects.get(source=source, external_id=external_id)


def test_two_sources_with_the_same_verified_email_are_one_member(ingest, admin):
    ingest(event("forum-a", "a1", "question", {"external_id": "7", "email": "Ada@Example.com", "name": "Ada",
                                               "email_verified": True}))
    ingest(event("crm", "c1", "comment", {"external_id": "ada-1", "email": "ada@example.com", "email_verified": True,
                                          "name": "Ada L."}))
    forum, crm = identity("forum-a", "7"), identity("crm", "ada-1")  # merged into the older member
    assert crm.merged_into_id == forum.pk and forum.merged_into_id is None
    assert earned(forum) == pytest.approx(5 + 3)  # both identities' actions, each counted once
    assert not InterestScore.objects.filter(member=crm).exists()

    response = admin.get("/api/v1/members/lookup/", {"email": "ADA@example.com"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["member"]["id"] == forum.pk
    assert [(i["source"], i["external_id"], i["merged"]) for i in body["identities"]] == [
        ("forum-a", "7", False), ("crm", "ada-1", True)]
    assert body["interest"]["breakdown"] and sum(r["points"] for r in body["interest"]["breakdown"]) == pytest.approx(8)
    # The list shows the person once; the merged identity's id leads to the person.
    ids = [m["id"] for m in admin.get("/api/v1/members/").json()["results"]]
    assert ids.count(forum.pk) == 1 and crm.pk not in ids
    assert admin.get(f"/api/v1/members/{crm.pk}/").json()["member"]["id"] == forum.pk


def test_unverified_emails_do_not_merge(ingest, admin):
    ingest(event("forum-a", "a1", "question", {"external_id": "7", "email": "bob@example.com"}),
           event("crm", "c1", "comment", {"external_id": "bob-1", "email": "bob@example.com", "email_verified": True}))
    assert identity("crm", "bob-1").merged_into_id is None and identity("forum-a", "7").merged_into_id is None
    response = admin.get("/api/v1/members/lookup/", {"email": "bob@example.com"})
    assert response.status_code == 400 and "email" in response.json()


def test_the_same_crm_id_across_sources_is_one_member_and_actions_between_them_join(ingest, admin):
    ingest(event("forum-a", "a1", "question", {"external_id": "7", "crm_id": "CRM-9"}))
    ingest(event("slack", "s1", "vote_up", {"external_id": "U1"}, target_member={"external_id": "U2"}),
           event("slack", "s2", "comment", {"external_id": "U2", "crm_id": "CRM-9"}))
    forum, voter, slack = identity("forum-a", "7"), identity("slack", "U1"), identity("slack", "U2")
    assert slack.merged_into_id == forum.pk
    assert earned(forum) == pytest.approx(5 + 2 + 3)  # question, the vote received, the comment
    assert earned(voter) == pytest.approx(1)
    response = admin.get("/api/v1/members/lookup/", {"external_id": "U2", "source": "slack"})
    assert response.json()["member"]["id"] == forum.pk and response.json()["member"]["crm_id"] == "CRM-9"
    # Later events of the merged identity go to the member.
    ingest(event("slack", "s3", "question", {"external_id": "U2"}))
    assert earned(forum) == pytest.approx(15)
    assert Action.objects.get(source="slack", external_event_id="s3").member_id == forum.pk


def test_merge_then_unmerge_gives_each_identity_back_what_it_brought_and_sticks(ingest, admin, token_client):
    ingest(event("forum-a", "a1", "question", {"external_id": "7", "email": "cy@example.com"}))
    ingest(event("crm", "c1", "comment", {"external_id": "cy", "email": "cy@example.com"}),
           event("crm", "c2", "vote_up", {"external_id": "zed"}, target_member={"external_id": "cy"}))
    forum, crm, zed = identity("forum-a", "7"), identity("crm", "cy"), identity("crm", "zed")

    assert token_client("marketing").post(f"/api/v1/members/{forum.pk}/merge/", {"members": [crm.pk]},
                                          format="json").status_code == 403
    assert token_client("community_manager").post(f"/api/v1/members/{forum.pk}/merge/", {"members": [crm.pk]},
                                                  format="json").status_code == 403
    bad = admin.post(f"/api/v1/members/{forum.pk}/merge/", {"members": "x"}, format="json")
    assert bad.status_code == 400 and "members" in bad.json()
    missing = admin.post(f"/api/v1/members/{forum.pk}/merge/", {"members": [10 ** 9]}, format="json")
    assert missing.status_code == 400 and "members" in missing.json()

    merged = admin.post(f"/api/v1/members/{forum.pk}/merge/", {"members": [crm.pk]}, format="json")
    assert merged.status_code == 200, merged.content
    assert sum(r["points"] for r in merged.json()["interest"]["breakdown"]) == pytest.approx(5 + 3 + 2)
    assert Action.objects.get(external_event_id="c2").target_member_id == forum.pk

    not_merged = admin.post(f"/api/v1/members/{forum.pk}/unmerge/", {"identity": zed.pk}, format="json")
    assert not_merged.status_code == 400 and "identity" in not_merged.json()
    assert token_client("marketing").post(f"/api/v1/members/{forum.pk}/unmerge/", {"identity": crm.pk},
                                          format="json").status_code == 403
    split = admin.post(f"/api/v1/members/{forum.pk}/unmerge/", {"identity": crm.pk}, format="json")
    assert split.status_code == 200, split.content
    assert sum(r["points"] for r in split.json()["interest"]["breakdown"]) == pytest.approx(5)
    assert [i["id"] for i in split.json()["identities"]] == [forum.pk]
    crm.refresh_from_db()
    assert crm.merged_into_id is None and earned(crm) == pytest.approx(3 + 2)
    assert Action.objects.get(external_event_id="c2").target_member_id == crm.pk
    assert MergeBlock.objects.filter(identity_id=min(forum.pk, crm.pk), other_id=max(forum.pk, crm.pk)).exists()

    # Both now verify the same email: an unmerge sticks, so they stay apart.
    ingest(event("forum-a", "a2", "comment", {"external_id": "7", "email": "cy@example.com", "email_verified": True}),
           event("crm", "c3", "comment", {"external_id": "cy", "email": "cy@example.com", "email_verified": True}))
    crm.refresh_from_db()
    assert crm.merged_into_id is None
    assert earned(forum) == pytest.approx(8) and earned(crm) == pytest.approx(8)
    # An admin may still merge them by hand; that lifts the block.
    assert admin.post(f"/api/v1/members/{forum.pk}/merge/", {"members": [crm.pk]}, format="json").status_code == 200
    assert not MergeBlock.objects.exists()
    assert earned(forum) == pytest.approx(16)


def test_a_merged_member_keeps_the_staff_exclusion(ingest, admin):
    ingest(event("forum-a", "a1", "question", {"external_id": "7", "crm_id": "X"}))
    ingest(event("crm", "c1", "comment", {"external_id": "x", "crm_id": "X"}))
    crm = identity("crm", "x")
    Member.objects.filter(pk=crm.pk).update(is_excluded=True)
    forum = identity("forum-a", "7")
    admin.post(f"/api/v1/members/{forum.pk}/unmerge/", {"identity": crm.pk}, format="json")
    admin.post(f"/api/v1/members/{forum.pk}/merge/", {"members": [crm.pk]}, format="json")
    forum.refresh_from_db()
    assert forum.is_excluded
    board = admin.get("/api/v1/leaderboards/interest/", {"period": "all"}).json()["results"]
    assert forum.pk not in [row["member"]["id"] for row in board]


def test_member_object_fields_are_validated_by_name(ingest, token_client):
    client = token_client("ingest")
    response = client.post(EVENTS, {"events": [
        event("s", "e1", "comment", {"external_id": "1", "email_verified": "yes"}),
        event("s", "e2", "comment", {"external_id": "1", "crm_id": 5}),
        event("s", "e3", "comment", {"external_id": "1", "crm_id": "x" * 192}),
    ]}, format="json")
    results = response.json()["results"]
    assert [sorted(r["errors"]) for r in results] == [
        ["member.email_verified"], ["member.crm_id"], ["member.crm_id"]]
    assert not Member.objects.filter(source="s").exists()
