from django.conf import settings
from django.db import models
from django.utils import timezone


class Member(models.Model):
    """The scored person, as known on one source platform."""

    source = models.CharField(max_length=64, default="local", help_text="Platform the member comes from.")
    external_id = models.CharField(max_length=191, help_text="The member's id on the source platform.")
    email = models.EmailField(blank=True)
    display_name = models.CharField(max_length=200, blank=True)
    crm_id = models.CharField(max_length=191, blank=True)
    persona = models.CharField(max_length=64, blank=True, help_text="Persona or segment.")
    attributes = models.JSONField(default=dict, blank=True, help_text="job_title, company_size, industry...")
    joined_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="member"
    )
    is_excluded = models.BooleanField(default=False, help_text="Staff or excluded: left out of leaderboards.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="member_unique_source_external_id")]
        # Audience lookups by external id alone (CRMs rarely know the source platform). Plain indexes on email,
        # crm_id and persona, not also the LIKE-pattern ones db_index adds on PostgreSQL (nothing searches them by
        # prefix): ingest inserts and updates members in every batch, and each index costs every written row.
        indexes = [
            models.Index(fields=["external_id"], name="member_external_id"),
            models.Index(fields=["email"], name="member_email"),
            models.Index(fields=["crm_id"], name="member_crm_id"),
            models.Index(fields=["persona"], name="member_persona"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email or f"{self.source}:{self.external_id}"
