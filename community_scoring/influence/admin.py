"""Admin: edit the influence configuration (validated and versioned like the API), watch runs, recompute."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction

from community_scoring.influence.models import InfluenceConfig, InfluenceRun, InfluenceScore
from community_scoring.influence.services import influence_run_request
from community_scoring.selectors.config import INFLUENCE_FIELDS
from community_scoring.services.config import influence_config_update
from community_scoring.services.config_documents import InfluenceConfigSerializer, document_parse


class InfluenceConfigForm(forms.ModelForm):
    class Meta:
        model = InfluenceConfig
        fields = INFLUENCE_FIELDS

    def clean(self):
        """The form's values checked by the influence parameters' description (the API's rules)."""
        data = super().clean()
        values = {name: data[name] for name in INFLUENCE_FIELDS if name in data}
        try:
            document_parse(InfluenceConfigSerializer, values, context={"influence_current": self.instance})
        except ValidationError as error:
            for name, msgs in error.message_dict.items():
                if name in self.fields and name in data:
                    self.add_error(name, msgs)
                else:
                    self.add_error(None, f"{name}: {' '.join(msgs)}")
        return data


@admin.action(description="Recompute influence now")
def recompute_now(modeladmin, request, queryset):
    with transaction.atomic():
        run = influence_run_request(trigger="manual")
    modeladmin.message_user(request, f"Influence run {run.pk} queued.", messages.SUCCESS)


@admin.register(InfluenceConfig)
class InfluenceConfigAdmin(admin.ModelAdmin):
    form = InfluenceConfigForm
    list_display = ("__str__", "damping", "half_life_days", "window_days", "schedule_minutes", "updated_at")
    actions = [recompute_now]

    def has_add_permission(self, request):
        return not InfluenceConfig.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Saved through the config service: the change is recorded as a config version, like the API's."""
        obj.pk = 1
        names = form.changed_data if change else INFLUENCE_FIELDS
        changes = {name: form.cleaned_data[name] for name in names if name in INFLUENCE_FIELDS}
        influence_config_update(changes=changes, user=request.user)


@admin.register(InfluenceRun)
class InfluenceRunAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "trigger", "started_at", "finished_at", "nodes", "edges", "iterations",
                    "converged", "duration_seconds", "scores_pruned")
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in InfluenceRun._meta.fields]
    actions = [recompute_now]

    def has_add_permission(self, request):
        return False


@admin.register(InfluenceScore)
class InfluenceScoreAdmin(admin.ModelAdmin):
    list_display = ("member", "run", "influence", "rank", "centrality", "reach", "sentiment", "is_advocate",
                    "is_detractor")
    list_filter = ("is_advocate", "is_detractor")
    raw_id_fields = ("member", "run")
    list_select_related = ("member",)
    search_fields = ("member__display_name", "member__email", "member__external_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        from community_scoring.influence.selectors import influence_run_current

        run = influence_run_current()
        return super().get_queryset(request).filter(run=run) if run else super().get_queryset(request).none()
