"""The bundled forum: every write saves the forum row and records the matching action in one transaction.

This is the one path from the forum to the scores (no signals): each function below saves its row and hands the
engine one event (source "forum", a deterministic event id such as "vote:<id>:up" or "follow:<id>") through its
one door, `actions_ingest`, inside the forum write's transaction: a refused event undoes the write (ForumError),
and replaying a call never double-counts. The event names the post as content (author + category name as topic);
the forum row then points at the engine's Content the event made. Targets: an answer targets its question, a
comment its parent, a vote/read/share the post (and so its author), a follow the followed member. New questions,
blog posts and polls have no target; their category is the action's topic.

Self-votes and reading your own posts are stored as forum rows but record no action, so they earn nothing.
Retracting an up-vote records `unvote`; unfollowing records `unfollow` (the configured reversing types).
Retracting a down-vote records nothing: no built-in type reverses `vote_down`. Creating a poll records no
action either (no built-in type; the poll is mirrored as content alone); responses to it record `poll_response`.
Events name members by their forum id, so only forum members (source "forum") act and are acted on here.
"""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from community_scoring.models import Content, Member
from community_scoring.selectors.contents import content_find
from community_scoring.services.events import REJECTED, ContentIn, EventIn, IngestResult, MemberIn
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.members import content_upsert, member_exclude, member_upsert
from forum_integration.models import (
    FORUM_SOURCE, Category, Follow, PollChoice, PollResponse, Post, Read, Share, Vote,
)


class ForumError(ValueError):
    """A forum write that makes no sense (answering an answer, voting twice the same way...), or whose action the
    engine refused (`errors`: the refused event's fields and messages)."""

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.errors = errors or {}


def forum_member_for_user(*, user) -> Member:
    """The forum's Member for a Django user (source "forum", external id = user pk), created on first use.

    A staff user's member is excluded from leaderboards when it is first linked to the user (the community's own
    team is not its audience); an admin may include it again afterwards.
    """
    member = member_upsert(
        source=FORUM_SOURCE, external_id=str(user.pk), email=user.email or None, email_verified=bool(user.email),
        display_name=user.get_full_name() or user.get_username(), joined_at=user.date_joined,
    )
    if member.user_id != user.pk:
        member.user = user
        member.save(update_fields=["user", "updated_at"])
        if user.is_staff or user.is_superuser:
            member_exclude(member_id=member.pk)
            member.refresh_from_db()
    return member


def forum_member_erase(*, identity_ids: list[int]) -> dict[str, int]:
    """The forum's part of a member's erasure (community_scoring.services.erasure, through its member_erased
    signal): the titles and bodies of their posts (and that title where replies' contents copy it), their polls'
    choice labels (numbered instead, so others' answers stay readable) and the texts of their poll responses
    blanked. The rows stay (others' answers, votes
    and reads point at them); returns the rows changed by kind."""
    posts = Post.objects.filter(author_id__in=identity_ids).exclude(title="", body="").update(title="", body="")
    # Replies' contents carry their root's title (_post_in): blank it in the threads under the member's posts.
    level, replies = list(Post.objects.filter(author_id__in=identity_ids).values_list("pk", flat=True)), []
    while level:
        level = list(Post.objects.filter(parent_id__in=level).values_list("pk", flat=True))
        replies += level
    Content.objects.filter(forum_post__in=replies).exclude(title="").update(title="")
    choices = list(PollChoice.objects.filter(poll__author_id__in=identity_ids))
    for choice in choices:
        choice.label = f"option {choice.position + 1}"
    PollChoice.objects.bulk_update(choices, ["label"])
    responses = PollResponse.objects.filter(member_id__in=identity_ids).exclude(text="").update(text="")
    return {"forum_posts": posts, "forum_poll_choices": len(choices), "forum_poll_responses": responses}


def forum_category_create(*, name: str, description: str = "") -> Category:
    return Category.objects.create(name=name, description=description)


def _forum_id(member: Member, role: str) -> str:
    """The member's id in forum events. A member of another platform has none (its id means another person here)."""
    if member.source != FORUM_SOURCE:
        raise ForumError(f"{role} must be a forum member (source {FORUM_SOURCE!r}), not a {member.source!r} member")
    return member.external_id


def _root(post: Post) -> Post:
    while post.parent_id is not None:
        post = post.parent
    return post


def _post_key(post: Post) -> str:
    return f"post:{post.pk}"


def _post_in(post: Post) -> ContentIn:
    """A post as the engine's content: same author, the category name as topic."""
    return ContentIn(external_id=_post_key(post), topic=post.category.name, kind=post.kind,
                     title=(post.title or _root(post).title)[:300],
                     author_external_id=_forum_id(post.author, "the post's author"))


def _post_link(post: Post) -> None:
    """Point the forum row at the engine's Content for it, once an event has named it (the door made it)."""
    if post.content_id is None:
        post.content = content_find(source=FORUM_SOURCE, external_id=_post_key(post))
        post.save(update_fields=["content"])


def _post_mirror(post: Post) -> Content:
    """The engine's Content for a post no action names (a new poll): same author, the category name as topic."""
    content = content_upsert(
        source=FORUM_SOURCE, external_id=_post_key(post), author=post.author, topic=post.category.name,
        kind=post.kind, title=(post.title or _root(post).title)[:300],
    )
    if post.content_id != content.pk:
        post.content = content
        post.save(update_fields=["content"])
    return content


def _record(*, event_id: str, action_type: str, member: Member, occurred_at: datetime,
            target_member: Member | None = None, target_post: Post | None = None, made_post: Post | None = None,
            text: str = "", metadata: dict | None = None) -> IngestResult:
    """Hand one forum event to the engine, in the caller's transaction; a refused event raises ForumError (which
    undoes the forum write). Posts the event names are linked to their Content."""
    event = EventIn(
        source=FORUM_SOURCE, event_id=event_id, type=action_type, occurred_at=occurred_at,
        member=MemberIn(external_id=_forum_id(member, "the acting member")),
        target_member=MemberIn(external_id=_forum_id(target_member, "the member acted on")) if target_member else None,
        target_content=_post_in(target_post) if target_post is not None else None,
        content=_post_in(made_post) if made_post is not None else None,
        text=text, metadata=metadata,
    )
    (result,) = actions_ingest(events=[event])
    if result.status == REJECTED:
        detail = "; ".join(f"{field}: {', '.join(messages)}" for field, messages in result.errors.items())
        raise ForumError(f"the {action_type} action was refused ({detail})", errors=result.errors)
    for post in (target_post, made_post):
        if post is not None:
            _post_link(post)
    return result


def _post_create(*, kind: str, author: Member, category: Category, title: str, body: str,
                 parent: Post | None, action_type: str | None, created_at: datetime | None) -> Post:
    _forum_id(author, "author")
    with transaction.atomic():
        post = Post.objects.create(kind=kind, author=author, category=category, parent=parent, title=title,
                                   body=body, created_at=created_at or timezone.now())
        if action_type is None:
            _post_mirror(post)
        else:
            _record(event_id=_post_key(post), action_type=action_type, member=author, occurred_at=post.created_at,
                    target_post=parent, made_post=post, text="\n\n".join(part for part in (title, body) if part),
                    metadata={"forum_post": post.pk, "kind": kind})
    return post


def forum_question_create(*, author: Member, category: Category, title: str, body: str = "",
                          created_at: datetime | None = None) -> Post:
    return _post_create(kind=Post.Kind.QUESTION, author=author, category=category, title=title, body=body,
                        parent=None, action_type="question", created_at=created_at)


def forum_answer_create(*, author: Member, question: Post, body: str, created_at: datetime | None = None) -> Post:
    if question.kind != Post.Kind.QUESTION:
        raise ForumError("only questions can be answered; reply with a comment instead")
    return _post_create(kind=Post.Kind.ANSWER, author=author, category=question.category, title="", body=body,
                        parent=question, action_type="answer", created_at=created_at)


def forum_blog_post_create(*, author: Member, category: Category, title: str, body: str = "",
                           created_at: datetime | None = None) -> Post:
    return _post_create(kind=Post.Kind.BLOG_POST, author=author, category=category, title=title, body=body,
                        parent=None, action_type="blog_post", created_at=created_at)


def forum_comment_create(*, author: Member, parent: Post, body: str, created_at: datetime | None = None) -> Post:
    """A comment on any post, or a reply to another comment (threads nest through `parent`)."""
    return _post_create(kind=Post.Kind.COMMENT, author=author, category=parent.category, title="", body=body,
                        parent=parent, action_type="comment", created_at=created_at)


def forum_poll_create(*, author: Member, category: Category, title: str, choices: list[str], body: str = "",
                      created_at: datetime | None = None) -> Post:
    labels = [label.strip() for label in choices if label and label.strip()]
    if len(labels) < 2:
        raise ForumError("a poll needs at least two choices")
    with transaction.atomic():
        poll = _post_create(kind=Post.Kind.POLL, author=author, category=category, title=title, body=body,
                            parent=None, action_type=None, created_at=created_at)
        PollChoice.objects.bulk_create(
            [PollChoice(poll=poll, label=label, position=i) for i, label in enumerate(labels)]
        )
    return poll


def forum_poll_respond(*, member: Member, choice: PollChoice, text: str = "",
                       responded_at: datetime | None = None) -> PollResponse:
    """Answer a poll once (free text optional); answering again changes the choice and text, not the score."""
    poll = choice.poll
    with transaction.atomic():
        response, created = PollResponse.objects.select_for_update().get_or_create(
            poll=poll, member=member,
            defaults={"choice": choice, "text": text, "created_at": responded_at or timezone.now()},
        )
        if not created:
            response.choice, response.text = choice, text
            response.save(update_fields=["choice", "text"])
            return response
        if poll.author_id != member.pk:
            _record(event_id=f"poll_response:{response.pk}", action_type="poll_response", member=member,
                    occurred_at=response.created_at, target_post=poll, text=text,
                    metadata={"forum_poll": poll.pk, "choice": choice.label})
    return response


def forum_vote_cast(*, member: Member, post: Post, direction: str, voted_at: datetime | None = None) -> Vote:
    """Vote a post up or down. Voting the other way first retracts the old vote. A self-vote earns nothing."""
    if direction not in Vote.Direction.values:
        raise ForumError(f"direction must be one of {Vote.Direction.values}")
    with transaction.atomic():
        existing = Vote.objects.select_for_update().filter(post=post, member=member).first()
        if existing is not None:
            if existing.direction == direction:
                return existing
            _vote_retract(existing, at=voted_at)
        vote = Vote.objects.create(post=post, member=member, direction=direction,
                                   created_at=voted_at or timezone.now())
        if post.author_id != member.pk:
            _record(event_id=f"vote:{vote.pk}:{direction}", action_type=f"vote_{direction}", member=member,
                    occurred_at=vote.created_at, target_post=post, metadata={"forum_post": post.pk})
    return vote


def _vote_retract(vote: Vote, *, at: datetime | None) -> None:
    if vote.direction == Vote.Direction.UP and vote.post.author_id != vote.member_id:
        _record(event_id=f"unvote:{vote.pk}", action_type="unvote", member=vote.member,
                occurred_at=at or timezone.now(), target_post=vote.post,
                metadata={"forum_post": vote.post_id, "retracts": f"vote:{vote.pk}:up"})
    vote.delete()


def forum_vote_retract(*, member: Member, post: Post, retracted_at: datetime | None = None) -> bool:
    """Remove the member's vote on a post; returns False if there was none."""
    with transaction.atomic():
        vote = Vote.objects.select_for_update().filter(post=post, member=member).first()
        if vote is None:
            return False
        _vote_retract(vote, at=retracted_at)
    return True


def forum_follow(*, follower: Member, followee: Member, followed_at: datetime | None = None) -> Follow:
    if follower.pk == followee.pk:
        raise ForumError("members cannot follow themselves")
    _forum_id(followee, "the followed member")
    with transaction.atomic():
        follow, created = Follow.objects.get_or_create(
            follower=follower, followee=followee, defaults={"created_at": followed_at or timezone.now()}
        )
        if created:
            _record(event_id=f"follow:{follow.pk}", action_type="follow", member=follower,
                    occurred_at=follow.created_at, target_member=followee)
    return follow


def forum_unfollow(*, follower: Member, followee: Member, unfollowed_at: datetime | None = None) -> bool:
    with transaction.atomic():
        follow = Follow.objects.select_for_update().filter(follower=follower, followee=followee).first()
        if follow is None:
            return False
        _record(event_id=f"unfollow:{follow.pk}", action_type="unfollow", member=follower,
                occurred_at=unfollowed_at or timezone.now(), target_member=followee,
                metadata={"retracts": f"follow:{follow.pk}"})
        follow.delete()
    return True


def forum_read_record(*, member: Member, post: Post, read_at: datetime | None = None) -> Read:
    """Count a view. The first view of a post per member per day records `read`; own posts earn nothing."""
    at = read_at or timezone.now()
    with transaction.atomic():
        read, created = Read.objects.select_for_update().get_or_create(
            post=post, member=member, day=at.date(), defaults={"first_read_at": at}
        )
        if not created:
            Read.objects.filter(pk=read.pk).update(views=read.views + 1)
            read.views += 1
            return read
        if post.author_id != member.pk:
            _record(event_id=f"read:{read.pk}", action_type="read", member=member, occurred_at=at, target_post=post,
                    metadata={"forum_post": post.pk})
    return read


def forum_share(*, member: Member, post: Post, channel: str = "", shared_at: datetime | None = None) -> Share:
    with transaction.atomic():
        share = Share.objects.create(post=post, member=member, channel=channel,
                                     created_at=shared_at or timezone.now())
        _record(event_id=f"share:{share.pk}", action_type="share", member=member, occurred_at=share.created_at,
                target_post=post, metadata={"forum_post": post.pk, "channel": channel})
    return share
