"""Forum moderation and Discourse instances in the Django admin.

Posts added here go through the forum services, so they record their action like any other post. Votes,
follows, reads, shares and poll responses are shown read-only: they are what the action log was built from,
and editing them here would make the two disagree.
"""
from django import forms
from django.contrib import admin

from forum_integration.models import (
    Category, DiscourseInstance, Follow, PollChoice, PollResponse, Post, Read, Share, Vote,
)
from forum_integration.services import forum


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]


class PollChoiceInline(admin.TabularInline):
    model = PollChoice
    extra = 0


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "title", "author", "category", "parent", "created_at"]
    list_filter = ["kind", "category"]
    search_fields = ["title", "body", "author__display_name", "author__external_id"]
    raw_id_fields = ["author", "parent", "content"]
    readonly_fields = ["content"]
    inlines = [PollChoiceInline]
    date_hierarchy = "created_at"

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        create = {
            Post.Kind.QUESTION: lambda: forum.forum_question_create(
                author=obj.author, category=obj.category, title=obj.title, body=obj.body, created_at=obj.created_at),
            Post.Kind.BLOG_POST: lambda: forum.forum_blog_post_create(
                author=obj.author, category=obj.category, title=obj.title, body=obj.body, created_at=obj.created_at),
            Post.Kind.ANSWER: lambda: forum.forum_answer_create(
                author=obj.author, question=obj.parent, body=obj.body, created_at=obj.created_at),
            Post.Kind.COMMENT: lambda: forum.forum_comment_create(
                author=obj.author, parent=obj.parent, body=obj.body, created_at=obj.created_at),
        }.get(obj.kind)
        if create is None or (obj.kind in (Post.Kind.ANSWER, Post.Kind.COMMENT) and obj.parent is None):
            return super().save_model(request, obj, form, change)  # polls: choices come from the inline
        created = create()
        obj.pk = created.pk
        obj.content = created.content


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Vote)
class VoteAdmin(_ReadOnlyAdmin):
    list_display = ["post", "member", "direction", "created_at"]
    list_filter = ["direction"]


@admin.register(Follow)
class FollowAdmin(_ReadOnlyAdmin):
    list_display = ["follower", "followee", "created_at"]


@admin.register(Read)
class ReadAdmin(_ReadOnlyAdmin):
    list_display = ["post", "member", "day", "views"]


@admin.register(Share)
class ShareAdmin(_ReadOnlyAdmin):
    list_display = ["post", "member", "channel", "created_at"]


@admin.register(PollResponse)
class PollResponseAdmin(_ReadOnlyAdmin):
    list_display = ["poll", "member", "choice", "created_at"]


class DiscourseInstanceForm(forms.ModelForm):
    class Meta:
        model = DiscourseInstance
        fields = "__all__"
        widgets = {"secret": forms.PasswordInput(render_value=True)}


@admin.register(DiscourseInstance)
class DiscourseInstanceAdmin(admin.ModelAdmin):
    form = DiscourseInstanceForm
    list_display = ["source", "base_url", "verifies_emails", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["source", "base_url"]
