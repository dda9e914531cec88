"""Outcomes and live experiments in the Django admin. Experiments are read-only (start and stop them on
/settings/experiments/ or the API, which validate B's document and re-score). Outcomes: listed, filtered by type and source, searched by member. Adding one goes through
the intake service (member resolution, the sales stage it gives); deleting re-derives the sales stage. Outcomes
are not edited in place: delete and add again, so the sales stage always follows from what is stored."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from community_scoring.models import Experiment
from community_scoring.outcomes.models import Outcome
from community_scoring.outcomes.services.intake import (
    CREATED, OutcomeIn, OutcomeMemberIn, outcome_check, outcomes_delete, outcomes_record,
)

_FORM_FIELDS = ("source", "outcome_id", "type", "occurred_at", "member", "reason", "value")


def _outcome_in(data: dict) -> OutcomeIn:
    member = data.get("member")
    return OutcomeIn(source=data.get("source"), outcome_id=data.get("outcome_id"), type=data.get("type"),
                     occurred_at=data.get("occurred_at"), reason=data.get("reason") or "",
                     value=data.get("value") or "",
                     member=OutcomeMemberIn(member_id=member.pk if member is not None else None))


class OutcomeAddForm(forms.ModelForm):
    """The model's fields, checked by the intake service's rules (timestamps, value, member) before saving."""

    class Meta:
        model = Outcome
        fields = _FORM_FIELDS

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        for name, problems in outcome_check(outcome=_outcome_in(data)).items():
            target = name.split(".")[0]
            self.add_error(target if target in self.fields else None, problems)
        return data


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    form = OutcomeAddForm
    list_display = ("occurred_at", "type", "member", "value", "short_reason", "source", "outcome_id", "recorded_by")
    list_filter = ("type", "source")
    search_fields = ("member__display_name", "member__email", "member__external_id", "member__crm_id",
                     "outcome_id")
    list_select_related = ("member",)
    raw_id_fields = ("member",)
    date_hierarchy = "occurred_at"
    readonly_fields = ("identity", "amount", "recorded_at", "recorded_by")

    @admin.display(description="reason")
    def short_reason(self, outcome: Outcome) -> str:
        return outcome.reason if len(outcome.reason) <= 60 else outcome.reason[:59] + "…"

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # view only: the sales stage follows from stored outcomes (delete and add again)

    def get_fields(self, request, obj=None):
        return _FORM_FIELDS if obj is None else (*_FORM_FIELDS, *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        result = outcomes_record(outcomes=[_outcome_in(form.cleaned_data)],
                                 recorded_by=request.user.get_username())[0]
        if result.outcome is not None:
            obj.pk = result.outcome.pk
            obj.refresh_from_db()
        if result.status != CREATED:
            errors = "; ".join(f"{k}: {', '.join(v)}" for k, v in result.errors.items())
            self.message_user(request, f"Not recorded ({result.status}){': ' + errors if errors else ''}.",
                              level=messages.WARNING)

    def delete_model(self, request, obj):
        outcomes_delete(outcome_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        outcomes_delete(outcome_ids=list(queryset.values_list("pk", flat=True)))



@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "share", "started_at", "stopped_at", "promoted", "promoted_version")
    list_filter = ("status",)
    readonly_fields = [f.name for f in Experiment._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
