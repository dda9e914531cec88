from django.urls import path

from forum_integration.api import forum
from forum_integration.api.views import EventIngestApi

app_name = "forum_integration_api"
urlpatterns = [
    path("events/", EventIngestApi.as_view(), name="events-ingest"),
    path("forum/categories/", forum.CategoryListApi.as_view(), name="forum-categories"),
    path("forum/posts/", forum.PostListApi.as_view(), name="forum-posts"),
    path("forum/posts/<int:pk>/", forum.PostDetailApi.as_view(), name="forum-post"),
    path("forum/posts/<int:pk>/vote/", forum.PostVoteApi.as_view(), name="forum-post-vote"),
    path("forum/posts/<int:pk>/share/", forum.PostShareApi.as_view(), name="forum-post-share"),
    path("forum/polls/<int:pk>/responses/", forum.PollRespondApi.as_view(), name="forum-poll-respond"),
    path("forum/members/<int:member_id>/follow/", forum.MemberFollowApi.as_view(), name="forum-member-follow"),
]
