"""Outbound webhooks: who subscribes to which events, and every delivery attempt's outcome."""
import uuid

from django.db import models


class WebhookEvent(models.TextChoices):
    STAGE_CHANGED = "stage_changed", "a member changed interest stage"
    BECAME_ADVOCATE = "became_advocate", "a member became an advocate"


class WebhookSubscription(models.Model):
    """A subscriber (e.g. a CRM) that wants some events POSTed to its URL, signed with its own secret."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event names this subscriber receives.")
    secret = models.CharField(max_length=200, help_text="Shared secret for the HMAC-SHA256 signature header.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} -> {self.url}"


class WebhookDelivery(models.Model):
    """One event to one subscriber: its payload, how many attempts it took and how the last one ended."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RETRYING = "retrying"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["subscription", "-id"], name="webhook_delivery_sub_id"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.subscription_id} ({self.status})"
