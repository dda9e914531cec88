"""The bundled forum and the Discourse instances we accept webhooks from.

Forum users are `community_scoring.Member` rows (source "forum"; `Member.user` links the Django user), so the
forum and the scores speak about the same person. Rows here are written only through
`forum_integration.services.forum`, which records the matching `Action` in the same transaction.
"""
from django.db import models
from django.utils import timezone

FORUM_SOURCE = "forum"


class Category(models.Model):
    """A forum category; its name is the topic actions on its content are filed under."""

    name = models.CharField(max_length=128, unique=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    """Any forum content, Stack Exchange style: one table, a `kind`, and a parent for answers and comments."""

    class Kind(models.TextChoices):
        QUESTION = "question"
        ANSWER = "answer"
        BLOG_POST = "blog_post", "blog post"
        COMMENT = "comment"
        POLL = "poll"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    author = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="forum_posts")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="posts")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies",
        help_text="The question an answer answers, or the content/comment a comment replies to.",
    )
    title = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    content = models.OneToOneField(
        "community_scoring.Content", null=True, blank=True, on_delete=models.SET_NULL, related_name="forum_post",
        help_text="The engine's mirror of this post, which actions target.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "category"], name="forum_post_kind_category")]

    def __str__(self) -> str:
        return self.title or f"{self.get_kind_display()} #{self.pk}"


class PollChoice(models.Model):
    poll = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="choices")
    label = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["poll", "position", "id"]

    def __str__(self) -> str:
        return self.label


class PollResponse(models.Model):
    """One member's answer to a poll: a choice and optional free text (the explicit sentiment signal)."""

    poll = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="responses")
    choice = models.ForeignKey(PollChoice, on_delete=models.CASCADE, related_name="responses")
    member = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="poll_responses")
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "member"], name="forum_poll_response_once")]

    def __str__(self) -> str:
        return f"{self.member} answered {self.choice}"


class Vote(models.Model):
    class Direction(models.TextChoices):
        UP = "up"
        DOWN = "down"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="votes")
    member = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="forum_votes")
    direction = models.CharField(max_length=4, choices=Direction.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "member"], name="forum_vote_once")]

    def __str__(self) -> str:
        return f"{self.member} voted {self.direction} on {self.post}"


class Follow(models.Model):
    follower = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="forum_following")
    followee = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="forum_followers")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="forum_follow_once"),
            models.CheckConstraint(condition=~models.Q(follower=models.F("followee")), name="forum_follow_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.follower} follows {self.followee}"


class Read(models.Model):
    """Views of a post by a member on one day: the first view of the day records a `read` action."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reads")
    member = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="forum_reads")
    day = models.DateField()
    views = models.PositiveIntegerField(default=1)
    first_read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "member", "day"], name="forum_read_once_a_day")]

    def __str__(self) -> str:
        return f"{self.member} read {self.post} on {self.day} ({self.views} views)"


class Share(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="shares")
    member = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="forum_shares")
    channel = models.CharField(max_length=64, blank=True, help_text="email, twitter, linkedin, link...")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.member} shared {self.post}" + (f" on {self.channel}" if self.channel else "")


class DiscourseInstance(models.Model):
    """A Discourse site whose webhooks we accept, matched by the X-Discourse-Instance header (its base URL)."""

    base_url = models.URLField(unique=True, help_text="Exactly what Discourse sends in X-Discourse-Instance.")
    source = models.SlugField(
        max_length=64, unique=True,
        help_text="Source name its actions and members are recorded under, e.g. discourse-acme.",
    )
    secret = models.CharField(max_length=200, help_text="The webhook's secret, as set in Discourse.")
    category_topics = models.JSONField(
        default=dict, blank=True,
        help_text='Optional map of Discourse category id to topic name, e.g. {"5": "api"}. '
                  "Otherwise the category slug from the payload, or category-<id>.",
    )
    verifies_emails = models.BooleanField(
        default=False,
        help_text="This site confirms its users' emails: an email it sends counts as verified, so its users are "
                  "merged with the members of other sources that have the same verified email.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.source} ({self.base_url})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        topics = self.category_topics
        if not isinstance(topics, dict) or not all(isinstance(v, str) and v for v in topics.values()):
            raise ValidationError({"category_topics": 'a JSON object of category id -> topic name, e.g. {"5": "api"}'})
        self.base_url = self.base_url.rstrip("/")
