"""POST /api/v1/members/{id}/erase/: admins only, answers what was erased, idempotent; the erased member is gone
from the list, lookups, the audience view, every leaderboard and the export (services.erasure)."""
import csv
import io

import pytest
from rest_framework.test import APIClient

from community_scoring.models import Member, MemberErasure
from tests.community_scoring.api.conftest import walk
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def erase_url(member_id: int) -> str:
    return f"/api/v1/members/{member_id}/erase/"


@pytest.fixture
def admin(token_client):
    return token_client("admin")


def test_admin_erases_and_the_answer_says_what(admin, community):
    response = admin.post(erase_url(community.alice.pk))
    assert response.status_code == 200, response.content
    body = response.json()
    erasure = MemberErasure.objects.get()
    assert body["id"] == erasure.pk and body["member"] == community.alice.pk
    assert body["identities"] == [community.alice.pk] and body["requested_by"].startswith("token admin-")
    assert body["erased"]["identities"] == 1 and body["erased"]["action_texts"] == 0
    shell = Member.objects.get(pk=community.alice.pk)
    assert (shell.email, shell.display_name, shell.erased_at is not None) == ("", "", True)
    # Erasing again answers the same record; nothing is erased twice.
    again = admin.post(erase_url(community.alice.pk))
    assert again.status_code == 200 and again.json() == body
    assert MemberErasure.objects.count() == 1


def test_a_merged_identity_id_erases_its_member(admin, community):
    identity = MemberFactory(merged_into=community.bob, email="bob.work@corp.test")
    body = admin.post(erase_url(identity.pk)).json()
    assert body["member"] == community.bob.pk and body["identities"] == sorted([community.bob.pk, identity.pk])
    assert Member.objects.get(pk=identity.pk).email == ""


@pytest.mark.parametrize("role", ["community_manager", "marketing", "ingest"])
def test_other_roles_may_not_erase(token_client, community, role):
    assert token_client(role).post(erase_url(community.alice.pk)).status_code == 403
    assert Member.objects.get(pk=community.alice.pk).erased_at is None


def test_anonymous_gets_401_and_unknown_ids_404(admin, community):
    assert APIClient().post(erase_url(community.alice.pk)).status_code == 401
    for member_id in (10 ** 9, -1):
        missing = admin.post(erase_url(member_id))
        assert missing.status_code == 404 and missing["Content-Type"].startswith("application/json")
    assert not MemberErasure.objects.exists()


def test_the_erased_member_is_gone_from_every_read(admin, community, token_client):
    alice, bob = community.alice, community.bob
    before = {r["member"]["id"]: r for r in admin.get("/api/v1/leaderboards/influence/").json()["results"]}
    assert admin.post(erase_url(alice.pk)).status_code == 200
    shell = Member.objects.get(pk=alice.pk)

    assert alice.pk not in [m["id"] for m in walk(admin, "/api/v1/members/")]
    assert admin.get(f"/api/v1/members/{alice.pk}/").status_code == 404
    for query in ({"external_id": "a-1"}, {"external_id": shell.external_id}, {"email": "alice@acme.test"}):
        assert admin.get("/api/v1/members/lookup/", query).status_code == 404
    for board in ("interest", "influence", "advocates", "detractors", "rising"):
        rows = walk(admin, f"/api/v1/leaderboards/{board}/")
        assert alice.pk not in [r["member"]["id"] for r in rows], board
    # The others keep their scores and ranks (alice still counts in the ranking: bob's rank stays 2); only the
    # row positions close up.
    after = {r["member"]["id"]: r for r in admin.get("/api/v1/leaderboards/influence/").json()["results"]}
    assert list(after) == [bob.pk, community.carol.pk] and after[bob.pk]["position"] == 1
    assert {**after[bob.pk], "position": 2} == before[bob.pk] and after[bob.pk]["influence"]["rank"] == 2
    export = token_client("marketing").get("/api/v1/members/export/")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert sorted(int(r["id"]) for r in rows) == sorted(
        m.pk for m in (bob, community.carol, community.dave, community.staff))
    # Merging into or from the erased member is refused (its id is unknown to the API now).
    assert admin.post(f"/api/v1/members/{alice.pk}/merge/", {"members": [bob.pk]}, format="json").status_code == 404
    refused = admin.post(f"/api/v1/members/{bob.pk}/merge/", {"members": [alice.pk]}, format="json")
    assert refused.status_code == 400 and "members" in refused.json()


def test_the_rising_board_cached_before_the_erasure_leaves_the_member_out(admin, community):
    rising = [r["member"]["id"] for r in walk(admin, "/api/v1/leaderboards/rising/")]
    assert community.alice.pk in rising  # ranked and cached
    admin.post(erase_url(community.alice.pk))
    assert community.alice.pk not in [r["member"]["id"] for r in walk(admin, "/api/v1/leaderboards/rising/")]


def test_the_schema_documents_the_endpoint(admin, db):
    schema = admin.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/members/{member_id}/erase/"]["post"]
    assert operation["operationId"] == "members_erase"
    assert set(operation["responses"]) >= {"200", "401", "403", "404"}
    assert "requestBody" not in operation
