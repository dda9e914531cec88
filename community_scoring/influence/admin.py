"""Admin: watch influence runs and scores, recompute on demand. The influence parameters are edited with the rest
of the configuration (community_scoring/admin.py), where every change is recorded as a config version.
"""
from django.contrib import admin, messages
from django.db import transaction

from community_scoring.admin_display import ReadableNumbers
from community_scoring.influence.models import InfluenceRun, InfluenceScore, InfluenceSnapshot
from community_scoring.influence.selectors import influence_run_current
from community_scoring.influence.services import influence_run_request


@admin.action(description="Recompute influence now")
def recompute_now(modeladmin, request, queryset):
    with transaction.atomic():
        run = influence_run_request(trigger="manual")
    modeladmin.message_user(request, f"Influence run {run.pk} queued.", messages.SUCCESS)


@admin.register(InfluenceRun)
class InfluenceRunAdmin(ReadableNumbers, admin.ModelAdmin):
    list_display = ("id", "status", "trigger", "started_at", "finished_at", "nodes", "edges", "iterations",
                    "converged", "duration_seconds", "scores_pruned")
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in InfluenceRun._meta.fields]
    actions = [recompute_now]

    def has_add_permission(self, request):
        return False


@admin.register(InfluenceScore)
class InfluenceScoreAdmin(ReadableNumbers, admin.ModelAdmin):
    list_display = ("member", "run", "influence", "influence_base", "rank", "centrality", "sources", "reach",
                    "sentiment", "is_advocate", "is_detractor")
    list_filter = ("is_advocate", "is_detractor")
    raw_id_fields = ("member", "run")
    list_select_related = ("member",)
    search_fields = ("member__display_name", "member__email", "member__external_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        run = influence_run_current()
        return super().get_queryset(request).filter(run=run) if run else super().get_queryset(request).none()


@admin.register(InfluenceSnapshot)
class InfluenceSnapshotAdmin(ReadableNumbers, admin.ModelAdmin):
    """Members' daily influence (read-only): written by the runs, one row per member and day."""

    list_display = ("member", "day", "influence", "influence_base", "rank", "is_advocate", "is_detractor")
    list_filter = ("day", "is_advocate", "is_detractor")
    raw_id_fields = ("member",)
    list_select_related = ("member",)
    search_fields = ("member__display_name", "member__email", "member__external_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
