from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Experiment(models.Model):
    """A live threshold/config experiment: members who join while it runs are split between the current
    configuration (A) and another document (B) by a hash of their id (scoring.split); older members stay on A.

    The engine reads it (selectors.config.scoring_config_current puts the running one into the compiled
    configuration), so the model lives with the engine's models; it belongs to the outcomes app (table and
    migration) with the outcomes it is judged by. The outcomes package imports the engine's services, so the
    engine must not import the outcomes package (the acyclic import contract).
    """

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        STOPPED = "stopped", "stopped"

    class Variant(models.TextChoices):
        A = "A", "A (the current configuration)"
        B = "B", "B (the experiment's document)"

    name = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    config_version_a = models.PositiveIntegerField(help_text="The config version current when it started (A).")
    config_b = models.JSONField(help_text="Variant B's interest document (validated like a config change).")
    share = models.FloatField(
        default=0.5, validators=[MinValueValidator(0.0001), MaxValueValidator(0.9999)],
        help_text="The share of new members scored by B.",
    )
    first_member_id = models.BigIntegerField(
        help_text="The highest member id when it started: members with a larger id take part.")
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    note = models.CharField(max_length=300, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    promoted = models.CharField(max_length=1, choices=Variant.choices, blank=True,
                                help_text="The variant promoted when it stopped (empty: none).")
    promoted_version = models.PositiveIntegerField(null=True, blank=True,
                                                   help_text="The config version promoting B made.")
    report = models.JSONField(null=True, blank=True,
                              help_text="The report as it stood when the experiment stopped (empty while running).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "outcomes"
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="running"),
                                    name="experiment_one_running"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"
