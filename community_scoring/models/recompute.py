from django.db import models


class RecomputeJob(models.Model):
    """A (chunked, background) recompute of scores, with progress the admin and API show."""

    class Kind(models.TextChoices):
        INTEREST = "interest"
        INFLUENCE = "influence"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    config_version = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=255, blank=True, default="",
                              help_text="The Celery node running it (resumed when that node starts again).")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def progress(self) -> float:
        return 1.0 if self.total == 0 and self.status == self.Status.DONE else (self.done / self.total if self.total else 0.0)

    def __str__(self) -> str:
        return f"{self.kind} recompute {self.pk} ({self.status}, {self.progress:.0%})"
