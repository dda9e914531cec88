"""Pages after a member's erasure (services.erasure): no page shows them, the others' pages still work."""
import pytest

from community_scoring.services.erasure import member_erase

pytestmark = pytest.mark.django_db


def test_an_erased_member_is_on_no_page(community, admin_client):
    paula, nick = community["paula"], community["nick"]
    for kind in ("interest", "influence", "advocates"):
        assert "Paula Positive" in admin_client.get(f"/leaderboards/{kind}/").content.decode(), kind
    member_erase(member_id=paula.pk, requested_by="admin")
    assert admin_client.get(f"/members/{paula.pk}/").status_code == 404
    assert admin_client.get(f"/members/{community['alias'].pk}/").status_code == 404  # her merged identity
    pages = ["/", *(f"/leaderboards/{k}/" for k in ("interest", "influence", "advocates", "detractors", "rising")),
             *(f"/leaderboards/{k}/csv/" for k in ("interest", "influence")), f"/members/{nick.pk}/"]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert "Paula" not in response.content.decode(), url
