from django.db import models


class Outcome(models.Model):
    """Something that happened to a member outside the community: a sales decision, a pipeline step, a conversion.

    Sent by a CRM or the product (API, CSV upload, admin); ``(source, outcome_id)`` identifies it, so the same
    outcome sent twice is stored once. ``member`` is the person (the member the named identity belongs to),
    ``identity`` the identity the source named when that is a merged one (as on actions).
    """

    class Type(models.TextChoices):
        SALES_ACCEPTED = "sales_accepted", "sales accepted"
        SALES_REJECTED = "sales_rejected", "sales rejected"
        SQL = "sql", "SQL"
        OPPORTUNITY = "opportunity", "opportunity"
        WON = "won", "won"
        LOST = "lost", "lost"
        CHURNED = "churned", "churned"
        CONVERTED = "converted", "converted"

    source = models.CharField(max_length=64, help_text="The system that reported it (crm, product, ...).")
    outcome_id = models.CharField(max_length=191, help_text="The outcome's id in its source.")
    type = models.CharField(max_length=32, choices=Type.choices)
    occurred_at = models.DateTimeField()
    member = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="outcomes")
    identity = models.ForeignKey(
        "community_scoring.Member", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text="The identity the source named, when it is merged into another member (empty: the member).",
    )
    reason = models.TextField(blank=True, help_text="Why (a rejection's or loss's reason, as sales gave it).")
    value = models.CharField(
        max_length=191, blank=True,
        help_text="A custom conversion's name (trial, demo_request, purchase, upgrade) or an amount, as sent.",
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                 help_text="``value`` when it is a number.")
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.CharField(max_length=150, blank=True, help_text="Token or user that sent it.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "outcome_id"], name="outcome_unique_source_outcome_id"),
        ]
        indexes = [
            models.Index(fields=["member", "occurred_at"], name="outcome_member_time"),
            models.Index(fields=["type", "occurred_at"], name="outcome_type_time"),
        ]
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        detail = f" ({self.value})" if self.value else ""
        return f"{self.type}{detail} for {self.member_id} on {self.occurred_at:%Y-%m-%d}"


class CalibrationRun(models.Model):
    """One fit of action-type weights from the log and the outcomes (services/calibration.py), its held-out
    evaluation, and what an admin decided: applied as a config version, or rejected. Nothing applies by itself."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        APPLIED = "applied"
        REJECTED = "rejected"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    parameters = models.JSONField(default=dict, help_text="What was asked: end, within_days, period_days, ...")
    total = models.PositiveIntegerField(default=0, help_text="Steps the run takes.")
    done = models.PositiveIntegerField(default=0, help_text="Steps done so far (committed as each ends).")
    step = models.CharField(max_length=100, blank=True, help_text="What the run is doing now.")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    applied_version = models.PositiveIntegerField(null=True, blank=True,
                                                  help_text="The config version applying it created.")

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def progress(self) -> float:
        """0..1; 1 once the run has finished (done, applied or rejected)."""
        if self.status in (self.Status.DONE, self.Status.APPLIED, self.Status.REJECTED):
            return 1.0
        return self.done / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"calibration {self.pk} ({self.status})"
