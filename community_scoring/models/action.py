from django.db import models
from django.utils import timezone


class ActionType(models.Model):
    """A kind of action (vote_up, answer, follow...). Built-in types ship in a data migration; admins add custom ones."""

    key = models.SlugField(max_length=64, primary_key=True)
    label = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    is_builtin = models.BooleanField(default=False)
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reversed_by",
        help_text="The action this one retracts (unfollow reverses follow).",
    )

    def __str__(self) -> str:
        return self.key


class Action(models.Model):
    """One thing a member did. Append-only: the source of truth every score is recomputed from."""

    # No single-column indexes on member, target_member, action_type: the composites below lead with member and
    # target_member, and action_type alone is never filtered on at scale. Each index costs every ingest batch
    # (1,000 inserted actions: ~135 ms of PostgreSQL CPU with the 4 redundant ones, ~70 ms without, measured).
    # No database foreign-key constraints either (db_constraint=False): the log is append-only and written only
    # by services that resolve every id in the same transaction; Django still applies on_delete. Four deferred
    # constraint checks per action were a large part of each batch's commit (see models.interest, _DERIVED_FK).
    member = models.ForeignKey(
        "community_scoring.Member", on_delete=models.CASCADE, related_name="actions", db_index=False,
        db_constraint=False,
    )
    action_type = models.ForeignKey(ActionType, on_delete=models.PROTECT, related_name="actions", db_index=False,
                                    db_constraint=False)
    occurred_at = models.DateTimeField()
    target_member = models.ForeignKey(
        "community_scoring.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="actions_received",
        db_index=False, db_constraint=False,
    )
    target_content = models.ForeignKey(
        "community_scoring.Content", null=True, blank=True, on_delete=models.SET_NULL, related_name="actions",
        db_constraint=False,
    )
    # The identities the event named, where they differ from the members above (an identity merged into another
    # member): what an unmerge gives the actions back to. Empty: the same as member / target_member.
    identity = models.ForeignKey("community_scoring.Member", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", db_index=False, db_constraint=False)
    target_identity = models.ForeignKey("community_scoring.Member", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+", db_index=False, db_constraint=False)
    topic = models.CharField(max_length=128, blank=True, help_text="Topic of the content acted on, at record time.")
    text = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=64)
    external_event_id = models.CharField(max_length=191)
    recorded_at = models.DateTimeField(default=timezone.now)  # the door writes its `now` (a replay's day)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_event_id"], name="action_unique_source_event")
        ]
        indexes = [
            models.Index(fields=["member", "occurred_at"], name="action_member_time"),
            # Covering member and time: the member page sums a member's inbound edges by source and type from the
            # index alone (the bench's heaviest member: 100 ms with heap reads, 35 ms index-only; PostgreSQL only).
            models.Index(fields=["target_member", "action_type"], name="action_target_type",
                         include=["member", "occurred_at"]),
            models.Index(fields=["occurred_at"], name="action_time"),
            # A member's poll responses (explicit sentiment) without walking all their actions; only poll
            # responses pay for it at ingest.
            models.Index(fields=["member", "occurred_at"], name="action_member_poll",
                         condition=models.Q(action_type="poll_response")),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.action_type_id} @ {self.occurred_at:%Y-%m-%d %H:%M}"
