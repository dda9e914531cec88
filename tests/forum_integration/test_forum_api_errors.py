"""The forum API's error answers (issue 11): each documented, each with a JSON body."""
import pytest

from forum_integration.services import forum
from tests.forum_integration.test_forum_api import BASE, signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["put", "patch", "trace"])
def test_a_method_no_forum_view_has_is_405_whoever_asks(token_client, api_client, method):
    for client in (token_client("admin"), api_client, signed_in("ada")[0]):
        response = client.generic(method.upper(), BASE + "categories/")
        assert response.status_code == 405, (client, response.content)
        assert "GET" in response["Allow"]


def test_permissions_still_come_before_the_view(token_client, api_client):
    assert token_client("admin").get(BASE + "categories/").status_code == 403
    assert api_client.get(BASE + "categories/").status_code == 401


def test_nothing_to_retract_or_unfollow_is_a_404_with_a_detail(token_client):
    client, ada = signed_in("ada")
    _, bob = signed_in("bob")
    post = forum.forum_question_create(author=bob, category=forum.forum_category_create(name="api"), title="Q?")
    response = client.delete(BASE + f"posts/{post.pk}/vote/")
    assert response.status_code == 404 and response.json() == {"detail": "You have no vote on this post."}
    response = client.delete(BASE + f"members/{bob.pk}/follow/")
    assert response.status_code == 404 and response.json() == {"detail": "You do not follow this member."}
