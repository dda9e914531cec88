from django.db import models


class ApiToken(models.Model):
    """A named API credential with one role. Only the SHA-256 digest of the token is stored."""

    class Role(models.TextChoices):
        ADMIN = "admin", "admin"
        COMMUNITY_MANAGER = "community_manager", "community manager"
        MARKETING = "marketing", "marketing"
        INGEST = "ingest", "ingest"

    name = models.CharField(max_length=100, unique=True)
    role = models.CharField(max_length=32, choices=Role.choices)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters of the token, to recognise it.")
    can_export_pii = models.BooleanField(default=False, help_text="Community managers: may see emails and export.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"
