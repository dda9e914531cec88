"""Privacy erasure: what the door must recognise of an erased identity, and the audit of each erasure.

See community_scoring.services.erasure for what an erasure does.
"""
from django.db import models


class ErasedIdentity(models.Model):
    """An identity erased at the person's request, known only by the SHA-256 of its (source, external id), so
    the door can recognise events that name it again (services.erasure.events_erased_screen) without keeping
    the id itself."""

    digest = models.CharField(max_length=64, primary_key=True, help_text="sha256 of source NUL external id, hex.")
    member = models.ForeignKey(
        "community_scoring.Member", null=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The anonymous shell the identity became: later events by others that name it point here.")
    erased_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"erased identity {self.digest[:12]}..."


class MemberErasure(models.Model):
    """One erasure as the audit keeps it: who asked, when, which identities, how many rows were erased. No
    personal data (ids and counts only)."""

    member = models.OneToOneField(
        "community_scoring.Member", null=True, on_delete=models.SET_NULL, related_name="erasure",
        help_text="The member (the person) erased: now an anonymous shell.")
    identity_ids = models.JSONField(default=list, help_text="Ids of every identity erased (the member's included).")
    requested_by = models.CharField(max_length=150, help_text="The admin or token that asked for it.")
    requested_at = models.DateTimeField()
    counts = models.JSONField(default=dict, help_text="Rows erased per kind (see services.erasure.member_erase).")

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"erasure of member {self.member_id} on {self.requested_at:%Y-%m-%d %H:%M} by {self.requested_by}"
