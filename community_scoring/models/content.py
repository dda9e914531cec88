from django.db import models
from django.utils import timezone


class Content(models.Model):
    """A piece of community content that actions target (question, answer, post, comment, poll...)."""

    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=191)
    author = models.ForeignKey(
        "community_scoring.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="contents"
    )
    author_identity = models.ForeignKey(
        "community_scoring.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False, db_constraint=False, help_text="The author's identity, where it differs from author (merged).",
    )
    kind = models.CharField(max_length=32, blank=True)
    topic = models.CharField(max_length=128, blank=True, db_index=True, help_text="Category or tag.")
    title = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)  # the door writes its `now` (a replay's day)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="content_unique_source_external_id")]

    def __str__(self) -> str:
        return self.title or f"{self.source}:{self.external_id}"
