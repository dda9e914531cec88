"""Django admin for the interest engine: members, the (read-only) action log, rule sets, stages, versions, jobs,
the actions waiting for their scorer, and the influence parameters (configuration is edited in one place).

Every save or delete of a rule set (with its rules and fit rules inline) or a stage records a new ConfigVersion
and enqueues a full recompute (services.config.config_version_record); a change of the influence parameters
records a version too (services.config.influence_config_update). "Recompute now" is a button on the
recompute jobs list and an action on rule sets; members have an action recomputing just the selected ones.
"""
from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.timesince import timesince

from community_scoring.admin_display import ReadableNumbers, number_for_people
from community_scoring.auth import request_role
from community_scoring.models import (
    Action, ActionType, ApiToken, ConfigVersion, FitRule, InterestPending, InterestScore, Member, MemberErasure,
    RecomputeJob, Rule, RuleSet, Stage, StageTransition,
)
from community_scoring.influence.models import InfluenceConfig
from community_scoring.influence.selectors import INFLUENCE_FIELDS
from community_scoring.influence.services import influence_run_request
from community_scoring.selectors import interest as interest_selectors
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.config import config_version_record, influence_config_update
from community_scoring.services.interest_queue import interest_pending_retry
from community_scoring.services.config_documents import InfluenceConfigSerializer, document_parse
from community_scoring.services.recompute import interest_recompute, recompute_job_start
from community_scoring.services.erasure import member_erase
from community_scoring.services.identity import member_unmerge, members_merge


class ReadOnlyAdmin(ReadableNumbers, admin.ModelAdmin):
    """The log and derived tables are written by services only."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class InterestScoreInline(ReadableNumbers, admin.StackedInline):
    """The score row as stored: engagement, score and stage valued at its ref_time (the list shows them now)."""

    model = InterestScore
    verbose_name = "stored interest score (valued at its ref time)"
    can_delete = False
    extra = 0
    fields = readonly_fields = ("score", "engagement", "ref_time", "fit", "stage", "sales_stage", "sales_stage_outcome",
                                "sales_stage_reason", "sales_stage_at", "primary_topic", "last_activity_at",
                                "config_version", "updated_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class StageTransitionInline(ReadableNumbers, admin.TabularInline):
    model = StageTransition
    extra = 0
    can_delete = False
    fields = readonly_fields = ("occurred_at", "from_stage", "to_stage", "engagement", "fit", "reason", "detail")
    ordering = ("-occurred_at",)
    max_num = 0


class StageNowFilter(admin.SimpleListFilter):
    """Members by their stage valued now, as the API's ``?stage=`` filters them (selectors.interest.members_in_stages),
    not by the stored stage column, which lags decay by up to an hour."""

    title = "stage (now)"
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        config = scoring_config_current()
        b_stages = config.split.config.stages if config.split else ()  # a running experiment's own stages
        return [(name, name) for name in dict.fromkeys(s.name for s in (*config.stages, *b_stages))]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return interest_selectors.members_in_stages(queryset, [self.value()], at=interest_selectors.valued_now())


class MemberChangeList(ChangeList):
    """A page of members with their interest valued now (selectors.interest.interest_rows_value: one
    configuration for the page, nothing saved), as the API's member list shows it."""

    def get_results(self, request):
        super().get_results(request)
        interest_selectors.interest_rows_value(((getattr(m, "interest", None), m) for m in self.result_list),
                                               at=interest_selectors.valued_now())


@admin.register(Member)
class MemberAdmin(ReadableNumbers, admin.ModelAdmin):
    list_display = ("__str__", "email", "persona", "stage", "interest_score", "source", "external_id", "merged_into",
                    "is_excluded", "erased_at")
    list_filter = ("persona", StageNowFilter, "source", "is_excluded", ("merged_into", admin.EmptyFieldListFilter),
                   ("erased_at", admin.EmptyFieldListFilter))
    search_fields = ("display_name", "email", "external_id", "crm_id")
    list_select_related = ("interest", "merged_into")
    readonly_fields = ("merged_into", "erased_at", "created_at", "updated_at")
    raw_id_fields = ("user",)
    inlines = [InterestScoreInline, StageTransitionInline]
    actions = ["recompute_selected", "merge_selected", "unmerge_selected", "erase_selected"]

    def has_change_permission(self, request, obj=None) -> bool:
        """An erased member's shell is read-only: nothing personal is ever written into it again."""
        if obj is not None and obj.erased_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_erase_permission(self, request) -> bool:
        """Erasure is the admin role's, as over the API (services.erasure)."""
        return request_role(request) == ApiToken.Role.ADMIN

    def get_changelist(self, request, **kwargs):
        return MemberChangeList

    # Both columns show the value now (MemberChangeList); sorting is on stored keys: the stage by its stored name,
    # the interest by the leaderboard key (the score valued at its last hourly re-key, as the API's ordering).
    @admin.display(ordering="interest__stage", description="stage (now)")
    def stage(self, member: Member) -> str:
        return getattr(getattr(member, "interest", None), "stage", "") or "-"

    @admin.display(ordering="interest__rank_key", description="interest (now)")
    def interest_score(self, member: Member) -> str:
        interest = getattr(member, "interest", None)
        return f"{interest.score:.1f}" if interest else "-"

    @admin.action(description="Recompute interest of the selected members now")
    def recompute_selected(self, request, queryset):
        result = interest_recompute(member_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Recomputed {result.members} members ({result.actions} actions, "
                                   f"{result.stage_changes} stage changes) in {result.seconds:.1f} s.")

    @admin.action(description="Merge the selected members into the oldest one (one person)",
                  permissions=["change"])
    def merge_selected(self, request, queryset):
        ids = sorted(queryset.values_list("pk", flat=True))
        if len(ids) < 2:
            self.message_user(request, "Select at least two members to merge.", level=messages.WARNING)
            return
        member = members_merge(into=ids[0], others=ids[1:], by=request.user.get_username())
        self.message_user(request, f"Merged {len(ids)} members into {member} (id {member.pk}); their scores were "
                                   "recomputed from the log.")

    @admin.action(description="Unmerge the selected identities from their members", permissions=["change"])
    def unmerge_selected(self, request, queryset):
        done = 0
        for identity in queryset.filter(merged_into__isnull=False).order_by("pk"):
            member_unmerge(identity=identity.pk, by=request.user.get_username())
            done += 1
        self.message_user(request, f"Unmerged {done} identities; they will not be merged back automatically.",
                          level=messages.SUCCESS if done else messages.WARNING)

    @admin.action(description="Erase selected members (privacy request)", permissions=["erase"])
    def erase_selected(self, request, queryset):
        """Ask for confirmation on a page listing the people concerned; on "yes", erase each of them."""
        people = sorted({merged or pk for pk, merged in queryset.filter(erased_at__isnull=True)
                         .values_list("pk", "merged_into_id")})
        if request.POST.get("post") == "yes":
            for person in people:
                member_erase(member_id=person, requested_by=request.user.get_username())
            self.message_user(request, f"Erased {len(people)} members: their personal data and texts are gone, "
                                       "their actions stay anonymous.",
                              level=messages.SUCCESS if people else messages.WARNING)
            return None
        members = Member.objects.filter(pk__in=people).select_related("interest").order_by("pk")
        context = {
            **self.admin_site.each_context(request),
            "title": "Erase members: are you sure?",
            "opts": self.model._meta,
            "people": [(m, Member.objects.filter(merged_into_id=m.pk).count(), m.actions.count()) for m in members],
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/community_scoring/member/erase_selected_confirmation.html", context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"persona", "attributes"} & set(form.changed_data):
            transaction.on_commit(lambda: interest_recompute(member_ids=[obj.pk]))


@admin.register(MemberErasure)
class MemberErasureAdmin(ReadOnlyAdmin):
    """The audit of erasures: who asked, when, which identities, how many rows (no personal data)."""

    list_display = ("requested_at", "member", "identity_ids", "requested_by", "counts")
    date_hierarchy = "requested_at"


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "member", "action_type", "target_member", "topic", "source", "external_event_id")
    list_filter = ("action_type", "source")
    search_fields = ("external_event_id", "topic", "member__display_name", "member__email", "member__external_id")
    date_hierarchy = "occurred_at"
    list_select_related = ("member", "target_member", "action_type")
    show_full_result_count = False
    ordering = ("-occurred_at",)


@admin.register(ActionType)
class ActionTypeAdmin(ReadableNumbers, admin.ModelAdmin):
    list_display = ("key", "label", "is_builtin", "reverses")
    list_filter = ("is_builtin",)
    search_fields = ("key", "label")

    def get_readonly_fields(self, request, obj=None):
        return ("key", "is_builtin") if obj is not None else ("is_builtin",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_builtin


class RuleInline(ReadableNumbers, admin.TabularInline):
    model = Rule
    extra = 1
    fields = ("action_type", "points", "target_points", "daily_cap", "once_only")
    autocomplete_fields = ("action_type",)


class FitRuleInline(ReadableNumbers, admin.TabularInline):
    model = FitRule
    extra = 1
    fields = ("attribute", "operator", "value", "points")


class VersionedConfigAdmin(ReadableNumbers, admin.ModelAdmin):
    """Saving or deleting records a config version and starts a recompute (once all inlines are saved)."""

    def _record(self, request, note: str) -> None:
        version = config_version_record(user=request.user, note=note)
        self.message_user(request, f"Configuration v{version.number} recorded; interest recompute queued.",
                          messages.INFO)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self._record(request, f"admin: {'changed' if change else 'added'} {self.opts.verbose_name} {form.instance}")

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._record(request, f"admin: deleted {self.opts.verbose_name} {obj}")

    def delete_queryset(self, request, queryset):
        names = ", ".join(str(o) for o in queryset)
        super().delete_queryset(request, queryset)
        self._record(request, f"admin: deleted {self.opts.verbose_name_plural} {names}")


@admin.register(RuleSet)
class RuleSetAdmin(VersionedConfigAdmin):
    list_display = ("name", "persona_label", "half_life_days", "inactivity_days", "rule_count", "updated_at")
    search_fields = ("name", "persona")
    inlines = [RuleInline, FitRuleInline]
    actions = ["recompute_now"]

    @admin.display(description="persona", ordering="persona")
    def persona_label(self, rule_set: RuleSet) -> str:
        return rule_set.persona or "(default)"

    @admin.display(description="rules")
    def rule_count(self, rule_set: RuleSet) -> int:
        return rule_set.rules.count()

    @admin.action(description="Recompute all interest scores now")
    def recompute_now(self, request, queryset):
        job = recompute_job_start(config_version=scoring_config_current().version)
        self.message_user(request, f"Recompute job {job.pk} queued.")


@admin.register(Stage)
class StageAdmin(VersionedConfigAdmin):
    list_display = ("position", "name", "min_engagement", "min_fit")
    ordering = ("position",)


@admin.register(ConfigVersion)
class ConfigVersionAdmin(ReadOnlyAdmin):
    list_display = ("number", "created_at", "created_by", "note")
    search_fields = ("note",)
    fields = ("number", "created_at", "created_by", "note", "document")
    readonly_fields = fields

    @admin.display(description="snapshot")
    def document(self, version: ConfigVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(version.snapshot, indent=2))


@admin.register(RecomputeJob)
class RecomputeJobAdmin(ReadOnlyAdmin):
    list_display = ("pk", "kind", "status", "progress_bar", "done", "total", "config_version", "created_at",
                    "started_at", "finished_at")
    list_filter = ("kind", "status")
    readonly_fields = ("kind", "status", "config_version", "total", "done", "error", "created_at", "started_at",
                       "finished_at")
    change_list_template = "admin/community_scoring/recomputejob/change_list.html"

    @admin.display(description="progress")
    def progress_bar(self, job: RecomputeJob) -> str:
        percent = round(job.progress * 100)
        return format_html('<progress max="100" value="{}"></progress> {}%', percent, percent)

    def get_urls(self):
        return [path("recompute-now/", self.admin_site.admin_view(self.recompute_now_view),
                     name="community_scoring_recomputejob_recompute_now"), *super().get_urls()]

    def recompute_now_view(self, request):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:community_scoring_recomputejob_changelist"))
        with transaction.atomic():
            job = recompute_job_start(config_version=scoring_config_current().version)
        self.message_user(request, f"Interest recompute job {job.pk} queued.")
        return HttpResponseRedirect(reverse("admin:community_scoring_recomputejob_changelist"))


class StoredStageFilter(admin.AllValuesFieldListFilter):
    """The stage column's stored values (the score table's filter), titled so."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "stored stage"


@admin.register(InterestScore)
class InterestScoreAdmin(ReadOnlyAdmin):
    """The score table as the scorer stored it, for checking the engine: engagement and score valued at each row's
    ref time, the stage as last stored (the scorer and the hourly re-valuation refresh it). Valued now, a row could
    not be compared with the log or the re-valuation's lag seen; the members list shows interest now."""

    list_display = ("member", "stored_score", "stored_engagement", "ref_time", "fit", "stored_stage", "sales_stage",
                    "primary_topic", "last_activity_at")
    list_filter = (("stage", StoredStageFilter), "sales_stage")
    search_fields = ("member__display_name", "member__email", "primary_topic")
    list_select_related = ("member",)
    ordering = ("-score",)

    @admin.display(description="stored score", ordering="score")
    def stored_score(self, row: InterestScore) -> str:
        return number_for_people(row.score)

    @admin.display(description="stored engagement", ordering="engagement")
    def stored_engagement(self, row: InterestScore) -> str:
        return number_for_people(row.engagement)

    @admin.display(description="stored stage", ordering="stage")
    def stored_stage(self, row: InterestScore) -> str:
        return row.stage


@admin.register(InterestPending)
class InterestPendingAdmin(ReadOnlyAdmin):
    """Ingested actions waiting for their scorer (services.interest_queue): normally empty, or a pass or two
    behind; rows that stay mean no scorer is running (INTEREST_SCORING=worker needs a Celery worker). Rows with
    an error hold actions whose scoring failed, set aside so the rest is scored: fix the cause, then "retry"."""

    list_display = ("pk", "partition", "partitions", "action_count", "created_at", "waiting", "failed_at", "error")
    list_filter = ("partition", ("failed_at", admin.EmptyFieldListFilter))
    ordering = ("pk",)
    actions = ["retry"]

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("community_scoring.change_interestpending")

    @admin.action(description="Retry scoring the selected set-aside actions (after fixing their cause)",
                  permissions=["retry"])
    def retry(self, request, queryset) -> None:
        queued = interest_pending_retry(row_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{queued} set-aside row(s) queued again: the next scorer pass takes them.")

    @admin.display(description="actions")
    def action_count(self, row: InterestPending) -> int:
        return len(row.action_ids)

    @admin.display(description="waiting for")
    def waiting(self, row: InterestPending) -> str:
        return timesince(row.created_at)


@admin.register(StageTransition)
class StageTransitionAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "member", "from_stage", "to_stage", "engagement", "fit", "reason")
    list_filter = ("to_stage", "from_stage", "reason")
    search_fields = ("member__display_name", "member__email")
    list_select_related = ("member",)
    date_hierarchy = "occurred_at"


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


@admin.register(InfluenceConfig)
class InfluenceConfigAdmin(ReadableNumbers, admin.ModelAdmin):
    """The influence parameters, saved through the config service: each change is a config version."""

    form = InfluenceConfigForm
    list_display = ("__str__", "damping", "half_life_days", "window_days", "schedule_minutes", "updated_at")
    actions = ["recompute_influence_now"]

    def has_add_permission(self, request):
        return not InfluenceConfig.objects.exists()

    @admin.action(description="Recompute influence now")
    def recompute_influence_now(self, request, queryset):
        with transaction.atomic():
            run = influence_run_request(trigger="manual")
        self.message_user(request, f"Influence run {run.pk} queued.", messages.SUCCESS)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.pk = 1
        names = form.changed_data if change else INFLUENCE_FIELDS
        changes = {name: form.cleaned_data[name] for name in names if name in INFLUENCE_FIELDS}
        influence_config_update(changes=changes, user=request.user)
