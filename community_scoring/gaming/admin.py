"""Admin review of gaming flags: confirm (the actions stay excluded) or clear (they count again, scores
restored). Only admins (auth.request_role) may review; others with access to the admin site may look."""
from django.contrib import admin, messages

from community_scoring.admin_display import ReadableNumbers
from community_scoring.auth import request_role
from community_scoring.gaming.models import GamingFlag
from community_scoring.gaming.services import gaming_flag_review
from community_scoring.models import ApiToken


def _review(modeladmin, request, queryset, status: str) -> None:
    done = [gaming_flag_review(flag_id=pk, status=status, by=request.user.get_username()).pk
            for pk in queryset.order_by("pk").values_list("pk", flat=True)]
    modeladmin.message_user(request, f"{status.capitalize()} {len(done)} flag(s); the members' scores were refreshed.",
                            messages.SUCCESS)


@admin.register(GamingFlag)
class GamingFlagAdmin(ReadableNumbers, admin.ModelAdmin):
    list_display = ("id", "kind", "status", "detected_at", "member_count", "action_count", "reason", "reviewed_by",
                    "reviewed_at")
    list_filter = ("kind", "status")
    search_fields = ("reason", "key")
    readonly_fields = ("kind", "status", "key", "members", "reason", "evidence", "detected_at", "reviewed_by",
                       "reviewed_at")
    actions = ["confirm", "clear"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a cleared flag is the record that keeps it from being raised again

    def has_review_permission(self, request) -> bool:
        return request_role(request) == ApiToken.Role.ADMIN

    @admin.display(description="members")
    def member_count(self, flag: GamingFlag) -> int:
        return flag.members.count()

    @admin.display(description="actions")
    def action_count(self, flag: GamingFlag) -> int:
        return flag.actions.count()

    @admin.action(description="Confirm: keep their actions excluded", permissions=["review"])
    def confirm(self, request, queryset):
        _review(self, request, queryset, GamingFlag.Status.CONFIRMED)

    @admin.action(description="Clear: count their actions again (scores restored)", permissions=["review"])
    def clear(self, request, queryset):
        _review(self, request, queryset, GamingFlag.Status.CLEARED)
