"""The forum over HTTP: signed-in users post, vote, read, follow; each call scores like the service it wraps."""
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from community_scoring.models import Action
from forum_integration.models import FORUM_SOURCE, Post
from forum_integration.services import forum
from tests.factories import MemberFactory
from tests.forum_integration.helpers import engagement

pytestmark = pytest.mark.django_db
BASE = "/api/v1/forum/"


def signed_in(username):
    user = get_user_model().objects.create_user(username=username, password="pw", first_name=username.title())
    client = APIClient()
    client.force_authenticate(user)
    return client, forum.forum_member_for_user(user=user)


@pytest.fixture
def api_category():
    return forum.forum_category_create(name="api")


def test_ask_answer_vote_read_follow_over_http(api_category):
    ada_client, ada = signed_in("ada")
    bob_client, bob = signed_in("bob")
    question = ada_client.post(BASE + "posts/", {"kind": "question", "category": "api", "title": "Paging?"},
                               format="json")
    assert question.status_code == 201, question.content
    qid = question.json()["id"]
    answer = bob_client.post(BASE + "posts/", {"kind": "answer", "parent": qid, "body": "Use cursors"}, format="json")
    assert answer.status_code == 201
    assert bob_client.post(BASE + f"posts/{qid}/vote/", {"direction": "up"}, format="json").status_code == 201
    assert bob_client.get(BASE + f"posts/{qid}/").status_code == 200
    assert bob_client.post(BASE + f"members/{ada.pk}/follow/").status_code == 201
    assert ada_client.post(BASE + f"members/{ada.pk}/follow/").status_code == 400  # not yourself

    assert engagement(ada) == pytest.approx(5 + 2 + 1)  # question, vote_up received, follow received
    assert engagement(bob) == pytest.approx(8 + 1 + 0.5 + 2)  # answer, vote_up, read, follow
    listed = bob_client.get(BASE + "posts/?category=api").json()
    assert [(p["id"], p["up_votes"], p["reply_count"]) for p in listed] == [(qid, 1, 1)]

    assert bob_client.delete(BASE + f"posts/{qid}/vote/").status_code == 204
    assert bob_client.delete(BASE + f"posts/{qid}/vote/").status_code == 404
    assert engagement(ada) == pytest.approx(5 + 1)
    assert Action.objects.filter(source=FORUM_SOURCE, action_type="unvote").count() == 1


def test_poll_over_http(api_category):
    ada_client, ada = signed_in("ada")
    bob_client, bob = signed_in("bob")
    poll = ada_client.post(BASE + "posts/", {"kind": "poll", "category": "api", "title": "SDK?",
                                             "choices": ["Python", "Go"]}, format="json").json()
    choice = poll["choices"][1]["id"]
    ok = bob_client.post(BASE + f"polls/{poll['id']}/responses/", {"choice": choice, "text": "Go!"}, format="json")
    assert ok.status_code == 201
    bad = bob_client.post(BASE + f"polls/{poll['id']}/responses/", {"choice": 999999}, format="json")
    assert bad.status_code == 400 and "choice" in bad.json()
    assert engagement(bob) == pytest.approx(3)


@pytest.mark.parametrize("body, field", [
    ({"kind": "answer", "body": "x"}, "parent"),
    ({"kind": "question", "title": "x"}, "category"),
    ({"kind": "question", "category": "api"}, "title"),
    ({"kind": "essay", "category": "api", "title": "x"}, "kind"),
    ({"kind": "question", "category": "nope", "title": "x"}, "category"),
])
def test_bad_posts_are_400_naming_the_field(api_category, body, field):
    client, _ = signed_in("ada")
    response = client.post(BASE + "posts/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Post.objects.exists()


def test_answering_a_blog_post_is_refused(api_category):
    client, ada = signed_in("ada")
    blog = forum.forum_blog_post_create(author=ada, category=api_category, title="Notes")
    response = client.post(BASE + "posts/", {"kind": "answer", "parent": blog.pk, "body": "?"}, format="json")
    assert response.status_code == 400


def test_tokens_and_anonymous_cannot_use_the_forum(token_client, api_client):
    assert token_client("admin").get(BASE + "posts/").status_code == 403
    assert api_client.get(BASE + "posts/").status_code in (401, 403)


def test_following_a_member_of_another_platform_is_400(api_category):
    client, _ = signed_in("ada")
    outsider = MemberFactory(source="demo")
    response = client.post(BASE + f"members/{outsider.pk}/follow/")
    assert response.status_code == 400
    assert "forum member" in response.json()["non_field_errors"][0]
    assert not Action.objects.exists()
