"""Reads for the bundled forum."""
from django.db.models import Count, Q, QuerySet

from forum_integration.models import Category, Post


def category_list() -> QuerySet[Category]:
    return Category.objects.annotate(post_count=Count("posts")).order_by("name")


def post_list(*, category: str | None = None, kind: str | None = None, parent: int | None = None) -> QuerySet[Post]:
    """Posts newest first with their vote tallies; top-level posts unless a parent is given."""
    posts = Post.objects.select_related("author", "category").annotate(
        up_votes=Count("votes", filter=Q(votes__direction="up"), distinct=True),
        down_votes=Count("votes", filter=Q(votes__direction="down"), distinct=True),
        reply_count=Count("replies", distinct=True),
    )
    posts = posts.filter(parent_id=parent) if parent is not None else posts.filter(parent__isnull=True)
    if category:
        posts = posts.filter(category__name=category)
    if kind:
        posts = posts.filter(kind=kind)
    return posts.order_by("-created_at", "-id")
