"""POST /integrations/discourse/webhook/ with deliveries shaped like Discourse's (see discourse_payloads.py).

Default rules: question 5, answer 8, comment 3, vote_up 1 to the liker and 2 to the author, signup 5 (once
only), solved 2 to the acceptor and 15 to the accepted post's author.
"""
from datetime import date

import pytest
from django.test import override_settings
from django.utils import timezone

from community_scoring.models import Action, Content, Member
from forum_integration.models import DiscourseInstance
from forum_integration.services.discourse import tag_names
from tests.forum_integration import discourse_payloads as d
from tests.forum_integration.helpers import engagement

URL = "/integrations/discourse/webhook/"
SECRET = "s3cret-from-discourse-admin"
SOURCE = "discourse-acme"
pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(db):
    return DiscourseInstance.objects.create(base_url=d.INSTANCE, source=SOURCE, secret=SECRET,
                                            category_topics={"5": "api"})


@pytest.fixture
def deliver(client, instance):
    counter = {"n": 0}

    def send(body, event, **kwargs):
        counter["n"] += 1
        kwargs.setdefault("event_id", counter["n"])
        secret = kwargs.pop("secret", SECRET)
        data, headers = d.delivery(body, event, secret, **kwargs)
        return client.generic("POST", URL, data, content_type="application/json", **headers)

    return send


def decay_to_today():
    """Worth today (valued at the start of today's UTC day) of a point earned on 2026-11-20 (half-life 90 days)."""
    days = (timezone.now().date() - date(2026, 11, 20)).days
    return 0.5 ** (days / 90)


def member(user_id):
    return Member.objects.get(source=SOURCE, external_id=str(user_id))


ADA, BOB, CY = (3, "ada"), (4, "bob"), (5, "cy")


def test_ping_answers_200(deliver):
    response = deliver({"ping": "OK"}, "ping")
    assert response.status_code == 200
    assert not Action.objects.exists()


def test_topic_created_is_a_question_in_the_category(deliver):
    response = deliver(d.topic(77, *ADA, tags=["pagination", {"id": 9, "name": "cursor", "slug": "cursor"}]),
                       "topic_created")
    assert response.status_code == 200 and response.json()["status"] == "recorded"
    action = Action.objects.get()
    assert (action.source, action.external_event_id, action.action_type_id) == (SOURCE, "question:topic:77", "question")
    assert action.member == member(3) and action.topic == "api"
    assert action.metadata["tags"] == ["pagination", "cursor"]
    assert action.metadata["discourse_event_id"] == "1"
    content = Content.objects.get(source=SOURCE, external_id="topic:77")
    assert (content.author, content.topic, content.title) == (member(3), "api", "How do I page results?")
    assert member(3).display_name == "Ada"
    assert engagement(member(3)) == pytest.approx(5)


def test_the_first_post_of_a_topic_is_the_same_question(deliver):
    deliver(d.topic(77, *ADA), "topic_created")
    response = deliver(d.post(500, 77, 1, *ADA), "post_created")
    assert response.json()["status"] == "duplicate"
    assert Action.objects.count() == 1
    assert engagement(member(3)) == pytest.approx(5)


def test_replies_answer_the_topic_or_comment_on_the_post_they_reply_to(deliver):
    deliver(d.topic(77, *ADA), "topic_created")
    deliver(d.post(501, 77, 2, *BOB), "post_created")  # a reply to the topic
    deliver(d.post(502, 77, 3, *CY, reply_to_post_number=2, raw="Thanks, that worked"), "post_created")
    deliver(d.post(503, 77, 4, *CY, reply_to_post_number=1), "post_created")  # replying to post 1 answers the topic
    answer, comment, answer2 = Action.objects.exclude(action_type="question").order_by("id")
    assert (answer.action_type_id, answer.member, answer.target_member) == ("answer", member(4), member(3))
    assert answer.target_content.external_id == "topic:77" and answer.external_event_id == "post:501"
    assert (comment.action_type_id, comment.member, comment.target_member) == ("comment", member(5), member(4))
    assert comment.target_content.external_id == "topic:77/post:2" and comment.text == "Thanks, that worked"
    assert (answer2.action_type_id, answer2.target_member) == ("answer", member(3))
    assert engagement(member(3)) == pytest.approx(5)
    assert engagement(member(4)) == pytest.approx(8)
    assert engagement(member(5)) == pytest.approx(3 + 8)


def test_a_reply_to_an_unknown_post_targets_the_topic_author(deliver):
    deliver(d.topic(77, *ADA), "topic_created")
    deliver(d.post(502, 77, 3, *CY, reply_to_post_number=2), "post_created")
    action = Action.objects.get(action_type="comment")
    assert action.target_member == member(3)


def test_post_liked_the_liker_acts_on_the_author_once_whatever_the_retries(deliver):
    deliver(d.topic(77, *ADA), "topic_created")
    answer = d.post_object(501, 77, 2, *BOB)
    deliver({"post": answer}, "post_created")
    first = deliver(d.like(answer, *CY), "post_liked", event_id=900)
    retry = deliver(d.like(answer, *CY), "post_liked", event_id=901)  # Discourse's retry: new event id, same body
    assert first.json()["status"] == "recorded" and retry.json()["status"] == "duplicate"
    (vote,) = Action.objects.filter(action_type="vote_up")
    assert (vote.member, vote.target_member, vote.external_event_id) == (member(5), member(4), "like:501:5")
    assert vote.target_content.external_id == "topic:77/post:2"
    assert engagement(member(5)) == pytest.approx(1)
    # The like carries no time: it happens today, so the answer (Nov 20) has decayed (half-life 90 days) by then.
    assert engagement(member(4)) == pytest.approx(8 * decay_to_today() + 2)


def test_a_like_on_an_unseen_post_still_credits_its_author(deliver):
    deliver(d.like(d.post_object(600, 80, 1, *ADA), *BOB), "post_liked")
    assert engagement(member(3)) == pytest.approx(2)
    assert Content.objects.get(source=SOURCE, external_id="topic:80").author == member(3)


def test_user_created_is_a_signup_with_the_email(deliver):
    deliver(d.user(3, "ada", "ada@example.com"), "user_created")
    deliver(d.user(3, "ada", "ada@example.com"), "user_created", event_id=77)
    ada = member(3)
    assert (ada.email, ada.display_name) == ("ada@example.com", "Ada")
    assert Action.objects.get().action_type_id == "signup"
    assert engagement(ada) == pytest.approx(5)


def test_accepted_solution_credits_the_answerer_from_the_topic_owner(deliver):
    deliver(d.topic(77, *ADA), "topic_created")
    answer = d.post_object(501, 77, 2, *BOB)
    deliver({"post": answer}, "post_created")
    response = deliver(d.solved(answer), "accepted_solution")
    assert response.json()["status"] == "recorded"
    action = Action.objects.get(action_type="solved")
    assert (action.member, action.target_member, action.external_event_id) == (member(3), member(4), "solved:501")
    assert engagement(member(3)) == pytest.approx(5 * decay_to_today() + 2)
    assert engagement(member(4)) == pytest.approx(8 * decay_to_today() + 15)
    assert deliver(d.solved(answer), "accepted_solution").json()["status"] == "duplicate"


def test_accepted_solution_in_an_unknown_topic_is_acknowledged_and_ignored(deliver):
    response = deliver(d.solved(d.post_object(501, 99, 2, *BOB)), "accepted_solution")
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert not Action.objects.exists()


def test_unknown_events_are_acknowledged_and_ignored(deliver):
    response = deliver({"topic": {"id": 77}}, "topic_closed_status_updated")
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert not Action.objects.exists()


def test_private_messages_and_small_actions_are_ignored(deliver):
    assert deliver(d.topic(78, *ADA, archetype="private_message"), "topic_created").json()["status"] == "ignored"
    assert deliver(d.post(510, 78, 2, *BOB, topic_archetype="private_message"), "post_created").json()["status"] == "ignored"
    assert deliver(d.post(511, 77, 3, *BOB, post_type=3), "post_created").json()["status"] == "ignored"
    assert deliver(d.post(512, 77, 4, -1, "system"), "post_created").json()["status"] == "ignored"
    assert not Action.objects.exists()


@pytest.mark.parametrize("kwargs, status", [
    ({"secret": None}, 401),  # no signature header
    ({"signature": "sha256=" + "0" * 64}, 403),
    ({"secret": "another-secret"}, 403),
    ({"signature": "sha1=abc"}, 403),
])
def test_bad_signatures_record_nothing(deliver, kwargs, status):
    response = deliver(d.topic(77, *ADA), "topic_created", **kwargs)
    assert response.status_code == status
    assert not Action.objects.exists() and not Member.objects.exists()


def test_a_body_changed_after_signing_is_refused(client, instance):
    data, headers = d.delivery(d.topic(77, *ADA), "topic_created", SECRET)
    tampered = data.replace(b'"user_id": 3', b'"user_id": 4')
    assert tampered != data
    response = client.generic("POST", URL, tampered, content_type="application/json", **headers)
    assert response.status_code == 403
    assert not Action.objects.exists()


def test_an_unknown_instance_without_a_global_secret_is_refused(deliver):
    response = deliver(d.topic(77, *ADA), "topic_created", instance="https://evil.example.com")
    assert response.status_code == 403
    assert not Action.objects.exists()


@override_settings(DISCOURSE_WEBHOOK_SECRET="single-instance-secret")
def test_the_single_instance_secret_setting(client):
    data, headers = d.delivery(d.topic(77, *ADA), "topic_created", "single-instance-secret",
                               instance="https://other.example.com")
    response = client.generic("POST", URL, data, content_type="application/json", **headers)
    assert response.status_code == 200
    action = Action.objects.get()
    assert action.source == "discourse" and action.topic == "category-5"  # no map: category-<id>


def test_instance_header_matches_with_or_without_trailing_slash(deliver):
    assert deliver(d.topic(77, *ADA), "topic_created", instance=d.INSTANCE + "/").status_code == 200


def test_malformed_json_with_a_valid_signature_is_400(deliver):
    response = deliver(None, "post_created", raw=b'{"post": {"id": 5,')
    assert response.status_code == 400
    assert "body" in response.json()


@pytest.mark.parametrize("body, field", [
    ({"post": {"topic_id": 77, "post_number": 2, "user_id": 4}}, "post.id"),
    ({"post": {"id": "x", "topic_id": 77, "post_number": 2, "user_id": 4}}, "post.id"),
    ({"post": "not an object"}, "post"),
    ({"topic": {"id": 77}}, "topic.user_id"),
    (["a", "list"], "body"),
])
def test_payloads_missing_what_the_event_needs_are_400_naming_the_field(deliver, body, field):
    event = "topic_created" if isinstance(body, dict) and "topic" in body else "post_created"
    response = deliver(body, event)
    assert response.status_code == 400
    assert field in response.json()
    assert not Action.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_tag_names_accept_strings_and_objects():
    assert tag_names(["a", {"id": 1, "name": "b", "slug": "b"}, {"id": 2, "slug": "c"}, None, 5]) == ["a", "b", "c"]
    assert tag_names(None) == []


def test_instance_validation_and_admin_pages(admin_client):
    from django.core.exceptions import ValidationError

    bad = DiscourseInstance(base_url="https://x.example.com/", source="discourse-x", secret="s", category_topics=[1])
    with pytest.raises(ValidationError):
        bad.full_clean()
    good = DiscourseInstance(base_url="https://x.example.com/", source="discourse-x", secret="s",
                             category_topics={"5": "api"})
    good.full_clean()
    assert good.base_url == "https://x.example.com"
    good.save()
    for url in ("/admin/forum_integration/discourseinstance/", f"/admin/forum_integration/discourseinstance/{good.pk}/change/",
                "/admin/forum_integration/post/", "/admin/forum_integration/vote/", "/admin/forum_integration/post/add/"):
        assert admin_client.get(url).status_code == 200, url


def test_a_redelivered_event_answers_duplicate_with_the_stored_action(deliver):
    first = deliver(d.topic(77, *ADA), "topic_created")
    again = deliver(d.post(500, 77, 1, *ADA), "post_created")  # the topic's first post: the same question
    (question,) = Action.objects.all()
    assert first.json() == {"status": "recorded", "detail": "question in topic 77", "action_id": question.pk}
    assert again.json() == {"status": "duplicate", "detail": "question in topic 77", "action_id": question.pk}


def test_a_like_names_the_liked_posts_author(deliver):
    deliver(d.like(d.post_object(600, 80, 1, *ADA), *BOB), "post_liked")
    assert (member(3).display_name, member(4).display_name) == ("Ada", "Bob")


def test_an_event_the_engine_refuses_is_400_naming_the_field_and_writes_nothing(deliver):
    response = deliver(d.user(3, "ada", "not-an-email"), "user_created")
    assert response.status_code == 400
    assert response.json() == {"member.email": ["is not a valid email address"]}
    deliver(d.topic(77, *ADA), "topic_created")
    response = deliver(d.post(501, 77, 2, *BOB, raw="nul \u0000 byte"), "post_created")
    assert response.status_code == 400 and list(response.json()) == ["text"]
    assert [a.action_type_id for a in Action.objects.all()] == ["question"]
    assert not Member.objects.filter(source=SOURCE, external_id="4").exists()


def test_an_ignored_solution_writes_nothing(deliver):
    assert deliver(d.solved(d.post_object(501, 99, 2, *BOB)), "accepted_solution").json()["status"] == "ignored"
    assert not Member.objects.exists() and not Content.objects.exists()


def test_an_instance_that_verifies_emails_links_its_users_to_the_same_person_elsewhere(deliver, instance, client):
    from django.contrib.auth import get_user_model

    from forum_integration.services import forum

    user = get_user_model().objects.create_user(username="ada", email="ada@example.com")
    forum_member = forum.forum_member_for_user(user=user)  # the bundled forum's emails count as verified
    deliver(d.user(3, "ada", "ADA@example.com"), "user_created")
    assert member(3).merged_into_id is None  # this instance is not marked as verifying emails

    instance.verifies_emails = True
    instance.save()
    deliver(d.user(4, "ada2", "ada@example.com"), "user_created")
    assert member(4).merged_into_id == forum_member.pk
    assert member(4).email_verified is True
    assert member(3).merged_into_id is None and member(3).email_verified is False
