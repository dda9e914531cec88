"""Admin of the outcomes app: live experiments, read-only (start and stop them on /settings/experiments/ or the
API, which validate B's document and re-score)."""
from django.contrib import admin

from community_scoring.models import Experiment


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "share", "started_at", "stopped_at", "promoted", "promoted_version")
    list_filter = ("status",)
    readonly_fields = [f.name for f in Experiment._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
