"""What gaming review keeps: flags (a vote ring or a burst found by gaming.services.gaming_scan) and the actions
each one names. While a flag is not cleared its actions are excluded from both scores
(community_scoring.models.ActionExclusion rows, kept in step by gaming.services)."""
from django.db import models


class GamingFlag(models.Model):
    class Kind(models.TextChoices):
        RING = "ring", "Vote ring or sock-puppet follows"
        BURST = "burst", "Burst of votes"

    class Status(models.TextChoices):
        FLAGGED = "flagged", "Flagged (excluded, awaiting review)"
        CONFIRMED = "confirmed", "Confirmed (excluded)"
        CLEARED = "cleared", "Cleared (counts again)"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.FLAGGED)
    key = models.CharField(max_length=500, db_index=True,
                           help_text="What was found (ring: its members; burst: actor, target, kind): the same "
                                     "finding adds to its open flag.")
    members = models.ManyToManyField("community_scoring.Member", related_name="gaming_flags")
    reason = models.TextField(help_text="Why, in a sentence: shown in the members' audience view.")
    evidence = models.JSONField(default=dict, blank=True,
                                help_text="Figures behind it: density, shares, pairs, window, thresholds.")
    detected_at = models.DateTimeField()
    reviewed_by = models.CharField(max_length=150, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-pk"]

    @property
    def excludes(self) -> bool:
        """Its actions are left out of the scores (until it is cleared)."""
        return self.status != self.Status.CLEARED

    @property
    def cause(self) -> str:
        """Its name on the ActionExclusion rows it makes."""
        return f"gaming-flag:{self.pk}"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"


class FlaggedAction(models.Model):
    """An action a flag names (kept when the flag is cleared: a cleared finding is not raised again)."""

    flag = models.ForeignKey(GamingFlag, on_delete=models.CASCADE, related_name="actions")
    action = models.ForeignKey("community_scoring.Action", on_delete=models.CASCADE, related_name="+",
                               db_constraint=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flag", "action"], name="flaggedaction_unique_flag_action")]
        indexes = [models.Index(fields=["action"], name="flaggedaction_action")]

    def __str__(self) -> str:
        return f"action {self.action_id} in flag {self.flag_id}"
