from django.db import models


class CommunityDay(models.Model):
    """One UTC day of the whole community, computed ahead (services.community_days) so that the dashboard's charts
    read a few hundred rows instead of scanning the action log and the snapshots."""

    day = models.DateField(unique=True)
    actions = models.PositiveIntegerField(default=0, help_text="Actions that occurred that day.")
    active_members = models.PositiveIntegerField(default=0, help_text="Members with at least one action that day.")
    new_members = models.PositiveIntegerField(default=0, help_text="Members who joined that day.")
    scored_members = models.PositiveIntegerField(default=0, help_text="Members with an interest snapshot that day.")
    mean_interest = models.FloatField(null=True, blank=True, help_text="Mean interest score of the day's snapshots.")
    mean_influence = models.FloatField(null=True, blank=True, help_text="Mean influence of the day's snapshots.")
    stages = models.JSONField(default=dict, blank=True, help_text="Stage -> members in it that day (snapshots).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.actions:,} actions, {self.active_members:,} active"
