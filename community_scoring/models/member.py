from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone


class Member(models.Model):
    """A person as known on one source platform: an identity (source, external id).

    A person with identities on several platforms (or several accounts) is one member: the identity merged into
    (``merged_into`` empty) carries the person's scores, actions and persona; the others point at it. Identities
    with the same verified email or the same ``crm_id`` are merged automatically (services.identity); an admin
    can merge and unmerge by hand, and an unmerge is remembered (MergeBlock).
    """

    source = models.CharField(max_length=64, default="local", help_text="Platform the member comes from.")
    external_id = models.CharField(max_length=191, help_text="The member's id on the source platform.")
    email = models.EmailField(blank=True)
    email_verified = models.BooleanField(
        default=False, help_text="The source vouches for the email (verified identities with one email are one person).")
    display_name = models.CharField(max_length=200, blank=True)
    crm_id = models.CharField(max_length=191, blank=True)
    persona = models.CharField(max_length=64, blank=True, help_text="Persona or segment.")
    attributes = models.JSONField(default=dict, blank=True, help_text="job_title, company_size, industry...")
    joined_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="member"
    )
    is_excluded = models.BooleanField(default=False, help_text="Staff or excluded: left out of leaderboards.")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="merged_identities",
        help_text="The member this identity belongs to (empty: it is a member of its own).",
    )
    erased_at = models.DateTimeField(
        null=True, blank=True,
        help_text="Erased at the person's request (services.erasure): an anonymous shell, left out of every list.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="member_unique_source_external_id")]
        # Audience lookups by external id alone (CRMs rarely know the source platform). Plain indexes on email,
        # crm_id and persona, not also the LIKE-pattern ones db_index adds on PostgreSQL (nothing searches them by
        # prefix): ingest inserts and updates members in every batch, and each index costs every written row.
        indexes = [
            models.Index(fields=["external_id"], name="member_external_id"),
            models.Index(Upper("email"), name="member_email_upper"),  # email__iexact: lookups, linking identities
            models.Index(fields=["crm_id"], name="member_crm_id"),
            models.Index(fields=["persona"], name="member_persona"),
        ]

    @property
    def person_id(self) -> int:
        """The id of the member this identity belongs to."""
        return self.merged_into_id or self.pk

    def __str__(self) -> str:
        return self.display_name or self.email or f"{self.source}:{self.external_id}"


class MergeBlock(models.Model):
    """Two identities an admin separated: never merged again automatically (an admin may still merge them)."""

    identity = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["identity", "other"], name="mergeblock_unique_pair"),
            models.CheckConstraint(condition=models.Q(identity__lt=models.F("other")), name="mergeblock_ordered_pair"),
        ]

    def __str__(self) -> str:
        return f"keep {self.identity_id} and {self.other_id} apart"
