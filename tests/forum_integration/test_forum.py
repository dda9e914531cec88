"""The bundled forum: each write records its action (with targets) and moves interest by the default rules.

Default rules (community_scoring/migrations/0002_default_configuration.py), points to actor / to target:
question 5/0, answer 8/0, comment 3/0, blog_post 10/0, vote_up 1/2, vote_down 0/-2, unvote -1/-2,
follow 2/1, unfollow -2/-1, poll_response 3/0, read 0.5/0 (cap 5 a day), share 4/2.
"""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from community_scoring.models import Action, Member
from forum_integration.models import FORUM_SOURCE, Follow, PollResponse, Post, Read, Vote
from forum_integration.services import forum
from forum_integration.services.forum import ForumError
from tests.factories import MemberFactory
from tests.forum_integration.helpers import T, bucket_points, engagement

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():
    return MemberFactory(source=FORUM_SOURCE)


@pytest.fixture
def bob():
    return MemberFactory(source=FORUM_SOURCE)


@pytest.fixture
def cy():
    return MemberFactory(source=FORUM_SOURCE)


@pytest.fixture
def api():
    return forum.forum_category_create(name="api")


@pytest.fixture
def question(ada, api):
    return forum.forum_question_create(author=ada, category=api, title="How do I page results?", created_at=T)


def actions(**filters):
    return list(Action.objects.filter(source=FORUM_SOURCE, **filters).order_by("id"))


def test_question_records_an_action_in_its_category_with_the_post_mirrored(ada, question):
    (action,) = actions()
    assert (action.action_type_id, action.member, action.external_event_id) == ("question", ada, f"post:{question.pk}")
    assert action.topic == "api" and action.target_member is None
    assert action.text == "How do I page results?"
    assert question.content.author == ada and question.content.topic == "api" and question.content.kind == "question"
    assert engagement(ada) == pytest.approx(5)
    assert ada.interest.primary_topic == "api"


def test_answer_and_threaded_comments_target_their_parent_and_its_author(ada, bob, cy, question):
    answer = forum.forum_answer_create(author=bob, question=question, body="Use the cursor.", created_at=T)
    comment = forum.forum_comment_create(author=cy, parent=answer, body="Works, thanks!", created_at=T)
    reply = forum.forum_comment_create(author=bob, parent=comment, body="Glad it helped", created_at=T)

    by_id = {a.external_event_id: a for a in actions()}
    assert by_id[f"post:{answer.pk}"].target_member == ada
    assert by_id[f"post:{answer.pk}"].target_content == question.content
    assert by_id[f"post:{comment.pk}"].target_member == bob
    assert by_id[f"post:{reply.pk}"].target_member == cy
    assert by_id[f"post:{reply.pk}"].target_content == comment.content
    assert reply.parent == comment and comment.category == question.category
    assert all(a.topic == "api" for a in by_id.values())
    assert engagement(ada) == pytest.approx(5)
    assert engagement(bob) == pytest.approx(8 + 3)
    assert engagement(cy) == pytest.approx(3)


def test_answers_need_a_question(bob, api, ada):
    post = forum.forum_blog_post_create(author=ada, category=api, title="Release notes", created_at=T)
    with pytest.raises(ForumError):
        forum.forum_answer_create(author=bob, question=post, body="?")
    assert engagement(ada) == pytest.approx(10)  # blog_post


def test_vote_up_then_retract_records_unvote_and_nets_zero(ada, bob, question):
    forum.forum_vote_cast(member=bob, post=question, direction="up", voted_at=T)
    assert engagement(bob) == pytest.approx(1)
    assert engagement(ada) == pytest.approx(5 + 2)

    assert forum.forum_vote_retract(member=bob, post=question, retracted_at=T) is True
    assert [a.action_type_id for a in actions(member=bob)] == ["vote_up", "unvote"]
    unvote = actions(action_type="unvote")[0]
    assert unvote.target_member == ada and unvote.target_content == question.content
    assert engagement(bob) == pytest.approx(0)
    assert engagement(ada) == pytest.approx(5)
    assert not Vote.objects.exists()
    assert forum.forum_vote_retract(member=bob, post=question) is False


def test_voting_twice_the_same_way_counts_once_and_switching_retracts_first(ada, bob, question):
    forum.forum_vote_cast(member=bob, post=question, direction="up", voted_at=T)
    forum.forum_vote_cast(member=bob, post=question, direction="up", voted_at=T)
    forum.forum_vote_cast(member=bob, post=question, direction="down", voted_at=T)
    assert [a.action_type_id for a in actions(member=bob)] == ["vote_up", "unvote", "vote_down"]
    assert engagement(bob) == pytest.approx(1 - 1 + 0)
    assert engagement(ada) == pytest.approx(5 + 2 - 2 - 2)
    assert Vote.objects.get().direction == "down"


def test_self_votes_and_reading_your_own_post_earn_nothing(ada, question):
    forum.forum_vote_cast(member=ada, post=question, direction="up", voted_at=T)
    forum.forum_read_record(member=ada, post=question, read_at=T)
    forum.forum_vote_retract(member=ada, post=question, retracted_at=T)
    assert [a.action_type_id for a in actions()] == ["question"]
    assert engagement(ada) == pytest.approx(5)
    assert Read.objects.get().views == 1  # the view is still counted on the post


def test_reads_record_once_per_member_post_and_day_and_are_capped(ada, bob, api):
    posts = [forum.forum_blog_post_create(author=ada, category=api, title=f"Post {i}", created_at=T) for i in range(12)]
    forum.forum_read_record(member=bob, post=posts[0], read_at=T)
    forum.forum_read_record(member=bob, post=posts[0], read_at=T)
    assert Read.objects.get(post=posts[0]).views == 2
    assert len(actions(action_type="read")) == 1
    assert engagement(bob) == pytest.approx(0.5)
    for post in posts[1:]:
        forum.forum_read_record(member=bob, post=post, read_at=T)
    assert engagement(bob) == pytest.approx(5)  # 12 x 0.5 = 6, capped at 5 a day
    assert engagement(ada) == pytest.approx(30)  # 12 blog posts x 10, capped at 30 a day; reads give nothing


def test_follow_and_unfollow(ada, bob):
    forum.forum_follow(follower=bob, followee=ada, followed_at=T)
    forum.forum_follow(follower=bob, followee=ada, followed_at=T)  # already following: nothing new
    assert engagement(bob) == pytest.approx(2) and engagement(ada) == pytest.approx(1)
    (follow,) = actions(action_type="follow")
    assert follow.target_member == ada and follow.external_event_id.startswith("follow:")

    assert forum.forum_unfollow(follower=bob, followee=ada, unfollowed_at=T) is True
    assert actions(action_type="unfollow")[0].target_member == ada
    assert engagement(bob) == pytest.approx(0) and engagement(ada) == pytest.approx(0)
    assert not Follow.objects.exists()
    assert forum.forum_unfollow(follower=bob, followee=ada) is False
    with pytest.raises(ForumError):
        forum.forum_follow(follower=ada, followee=ada)


def test_a_self_follow_is_refused_by_the_database_too(ada):
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=ada, followee=ada)


def test_share_scores_both_sides(ada, bob, question):
    forum.forum_share(member=bob, post=question, channel="linkedin", shared_at=T)
    assert engagement(bob) == pytest.approx(4)
    assert engagement(ada) == pytest.approx(5 + 2)
    assert actions(action_type="share")[0].metadata["channel"] == "linkedin"


def test_poll_response_with_free_text_scores_once(ada, bob, api):
    poll = forum.forum_poll_create(author=ada, category=api, title="Which SDK?", choices=["Python", "Go", " "],
                                   created_at=T)
    assert [c.label for c in poll.choices.all()] == ["Python", "Go"]
    assert actions() == []  # no built-in type for creating a poll
    python, go = poll.choices.all()
    forum.forum_poll_respond(member=bob, choice=python, text="Love the Python SDK", responded_at=T)
    forum.forum_poll_respond(member=bob, choice=go, text="Actually Go", responded_at=T)
    (response,) = PollResponse.objects.all()
    assert response.choice == go and response.text == "Actually Go"
    (action,) = actions(action_type="poll_response")
    assert action.target_member == ada and action.text == "Love the Python SDK" and action.topic == "api"
    assert engagement(bob) == pytest.approx(3)
    with pytest.raises(ForumError):
        forum.forum_poll_create(author=ada, category=api, title="Only one", choices=["Yes"])


def test_member_for_a_django_user_is_stable(db):
    user = get_user_model().objects.create_user(username="ada", email="ada@example.com", first_name="Ada")
    first = forum.forum_member_for_user(user=user)
    again = forum.forum_member_for_user(user=user)
    assert first == again and first.user == user
    assert (first.source, first.external_id, first.email, first.display_name) == (
        FORUM_SOURCE, str(user.pk), "ada@example.com", "Ada")


def test_a_staff_users_member_is_left_off_the_leaderboards_and_an_admin_can_include_it(db, api):
    from community_scoring.selectors.leaderboards import leaderboard_interest

    staff = get_user_model().objects.create_user(username="mod", email="mod@example.com", is_staff=True)
    user = get_user_model().objects.create_user(username="sam", email="sam@example.com")
    moderator, member = forum.forum_member_for_user(user=staff), forum.forum_member_for_user(user=user)
    for author in (moderator, member):
        forum.forum_question_create(author=author, category=api, title=f"A question by {author.display_name}")
    assert (moderator.is_excluded, member.is_excluded) == (True, False)
    assert [row.member_id for row in leaderboard_interest().rows] == [member.pk]

    Member.objects.filter(pk=moderator.pk).update(is_excluded=False)  # an admin includes the moderator
    assert forum.forum_member_for_user(user=staff).is_excluded is False  # and it stays included


def test_buckets_show_which_rules_paid(ada, bob, cy, question):
    forum.forum_answer_create(author=bob, question=question, body="Use the cursor.", created_at=T)
    forum.forum_vote_cast(member=cy, post=question, direction="up", voted_at=T)
    forum.forum_vote_cast(member=cy, post=question.replies.get(), direction="down", voted_at=T)
    assert bucket_points(ada) == {("question", False): 5, ("vote_up", True): 2}
    assert bucket_points(bob) == {("answer", False): 8, ("vote_down", True): -2}
    assert bucket_points(cy) == {("vote_up", False): 1}


def test_a_question_added_in_the_admin_records_its_action(admin_client, ada, api):
    response = admin_client.post("/admin/forum_integration/post/add/", {
        "kind": "question", "author": ada.pk, "category": api.pk, "title": "From the admin", "body": "",
        "created_at_0": "2026-11-20", "created_at_1": "10:00:00",
        "choices-TOTAL_FORMS": "0", "choices-INITIAL_FORMS": "0", "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "1000",
    })
    assert response.status_code == 302, response.content[:2000]
    (action,) = actions()
    assert (action.action_type_id, action.member, action.topic) == ("question", ada, "api")
    assert engagement(ada) == pytest.approx(5)


def test_each_post_points_at_the_content_its_event_made(ada, bob, api, question):
    answer = forum.forum_answer_create(author=bob, question=question, body="Use the cursor.", created_at=T)
    poll = forum.forum_poll_create(author=ada, category=api, title="Which SDK?", choices=["Python", "Go"],
                                   created_at=T)
    answer.refresh_from_db()
    assert (answer.content.source, answer.content.external_id) == (FORUM_SOURCE, f"post:{answer.pk}")
    assert (answer.content.author, answer.content.kind, answer.content.topic, answer.content.title) == (
        bob, "answer", "api", "How do I page results?")  # an answer's title is its question's
    # A poll records no action; it is still mirrored, and a response targets it and its author.
    assert (poll.content.author, poll.content.kind, poll.content.title) == (ada, "poll", "Which SDK?")
    forum.forum_poll_respond(member=bob, choice=poll.choices.first(), responded_at=T)
    (response,) = actions(action_type="poll_response")
    assert (response.target_content, response.target_member) == (poll.content, ada)


def test_a_refused_action_undoes_its_forum_write(ada, api):
    tomorrow = timezone.now() + timedelta(days=1)
    with pytest.raises(ForumError) as refused:
        forum.forum_question_create(author=ada, category=api, title="From the future", created_at=tomorrow)
    assert refused.value.errors == {"occurred_at": ["is in the future"]}
    assert "occurred_at" in str(refused.value)
    assert not Post.objects.exists() and actions() == []
    assert engagement(ada) == 0


def test_a_forum_write_rolled_back_by_its_caller_takes_its_action_and_points_along(ada, bob, question):
    with pytest.raises(RuntimeError), transaction.atomic():
        forum.forum_vote_cast(member=bob, post=question, direction="up", voted_at=T)
        raise RuntimeError("the caller's transaction fails after the vote")
    assert not Vote.objects.exists() and actions(action_type="vote_up") == []
    assert engagement(bob) == 0
    assert engagement(ada) == pytest.approx(5)  # the question only


def test_members_of_other_platforms_neither_act_nor_are_followed_in_the_forum(ada, api, question):
    outsider = MemberFactory(source="discourse-acme")
    with pytest.raises(ForumError, match="forum member"):
        forum.forum_follow(follower=ada, followee=outsider, followed_at=T)
    with pytest.raises(ForumError, match="forum member"):
        forum.forum_question_create(author=outsider, category=api, title="Hello", created_at=T)
    assert not Follow.objects.exists() and Post.objects.count() == 1
    assert [a.action_type_id for a in actions()] == ["question"]
    # Events name members by forum id: acting for the outsider would have made a stray forum member of its id.
    assert not Member.objects.filter(source=FORUM_SOURCE, external_id=outsider.external_id).exists()


def test_a_staff_user_known_elsewhere_by_the_same_email_makes_that_person_excluded(db, api, token_client):
    from community_scoring.services.events import EventIn, MemberIn
    from community_scoring.services.ingest import actions_ingest

    actions_ingest(events=[EventIn(source="crm", event_id="q1", type="question", occurred_at=timezone.now(),
                                   member=MemberIn("c-1", email="mod@example.com", email_verified=True))])
    crm = Member.objects.get(source="crm", external_id="c-1")
    manager = token_client("community_manager")

    def board():
        response = manager.get("/api/v1/leaderboards/interest/", {"period": "all"})
        assert response.status_code == 200, response.content
        return [row["member"]["id"] for row in response.json()["results"]]

    assert board() == [crm.pk]
    staff = get_user_model().objects.create_user(username="mod", email="mod@example.com", is_staff=True)
    moderator = forum.forum_member_for_user(user=staff)
    forum.forum_question_create(author=moderator, category=api, title="Release notes")
    crm.refresh_from_db()
    assert moderator.merged_into_id == crm.pk and crm.is_excluded
    assert board() == []  # the staff person, whichever door their actions came through
