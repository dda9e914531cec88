"""The bundled forum over HTTP, for signed-in Django users (session auth): thin views over forum services.

Each write is one service call, so it records its action exactly as the services document. API tokens are
machine credentials, not forum members: they get 403 here.
"""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.views.common import errors
from community_scoring.auth import TokenPrincipal
from community_scoring.models import Member
from forum_integration import selectors
from forum_integration.models import Category, PollChoice, Post, Vote
from forum_integration.services import forum


NOT_A_FORUM_USER = "Not signed in as a forum user (API tokens get 403), or no CSRF token with the session."
NO_POST = "No such post."


def forum_errors(*codes: int, descriptions: dict[int, str] | None = None) -> dict:
    """The error responses of a forum endpoint: the API's (errors()) with what 403 means here."""
    return errors(*codes, descriptions={403: NOT_A_FORUM_USER, **(descriptions or {})})


class IsForumUser(permissions.BasePermission):
    message = "Sign in as a forum user (API tokens cannot post in the forum)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and not isinstance(user, TokenPrincipal))


class ForumApi(APIView):
    permission_classes = [IsForumUser]

    def initial(self, request, *args, **kwargs):
        # A method no forum view has is 405 whoever asks (DRF checks permissions first: 403 to an API token).
        if not hasattr(self, request.method.lower()):
            self.http_method_not_allowed(request)
        super().initial(request, *args, **kwargs)

    def member(self, request) -> Member:
        return forum.forum_member_for_user(user=request.user)

    @staticmethod
    def invalid(exc: Exception, field: str = "non_field_errors") -> Response:
        return Response({field: [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)


class CategoryOut(serializers.ModelSerializer):
    post_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Category
        fields = ["id", "name", "description", "post_count"]


class PostOut(serializers.ModelSerializer):
    author = serializers.CharField(source="author.display_name")
    category = serializers.CharField(source="category.name")
    up_votes = serializers.IntegerField(read_only=True, default=0)
    down_votes = serializers.IntegerField(read_only=True, default=0)
    reply_count = serializers.IntegerField(read_only=True, default=0)
    choices = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "kind", "title", "body", "author", "category", "parent", "created_at", "up_votes",
                  "down_votes", "reply_count", "choices"]

    def get_choices(self, post) -> list[dict]:
        if post.kind != Post.Kind.POLL:
            return []
        return [{"id": c.pk, "label": c.label} for c in post.choices.all()]


class PostIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Post.Kind.choices)
    category = serializers.SlugRelatedField(slug_field="name", queryset=Category.objects.all(), required=False)
    parent = serializers.PrimaryKeyRelatedField(queryset=Post.objects.all(), required=False)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    body = serializers.CharField(required=False, allow_blank=True, default="")
    choices = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)

    def validate(self, data):
        needs_parent = data["kind"] in (Post.Kind.ANSWER, Post.Kind.COMMENT)
        if needs_parent and "parent" not in data:
            raise serializers.ValidationError({"parent": ["required for answers and comments"]})
        if not needs_parent and "category" not in data:
            raise serializers.ValidationError({"category": ["required"]})
        if not needs_parent and not data["title"]:
            raise serializers.ValidationError({"title": ["required"]})
        return data


class CategoryListApi(ForumApi):
    @extend_schema(operation_id="forum_categories_list", responses={200: CategoryOut(many=True), **forum_errors()})
    def get(self, request):
        return Response(CategoryOut(selectors.category_list(), many=True).data)


class PostListApi(ForumApi):
    @extend_schema(operation_id="forum_posts_list", responses={200: PostOut(many=True), **forum_errors()}, parameters=[
        OpenApiParameter("category", str), OpenApiParameter("kind", str), OpenApiParameter("parent", int)])
    def get(self, request):
        parent = request.query_params.get("parent")
        posts = selectors.post_list(category=request.query_params.get("category"),
                                    kind=request.query_params.get("kind"),
                                    parent=int(parent) if parent and parent.isdigit() else None)[:100]
        return Response(PostOut(posts, many=True).data)

    @extend_schema(operation_id="forum_posts_create", request=PostIn, responses={201: PostOut, **forum_errors(400)})
    def post(self, request):
        data = PostIn(data=request.data)
        data.is_valid(raise_exception=True)
        d, author = data.validated_data, self.member(request)
        try:
            if d["kind"] == Post.Kind.QUESTION:
                post = forum.forum_question_create(author=author, category=d["category"], title=d["title"],
                                                   body=d["body"])
            elif d["kind"] == Post.Kind.BLOG_POST:
                post = forum.forum_blog_post_create(author=author, category=d["category"], title=d["title"],
                                                    body=d["body"])
            elif d["kind"] == Post.Kind.POLL:
                post = forum.forum_poll_create(author=author, category=d["category"], title=d["title"],
                                               body=d["body"], choices=d["choices"])
            elif d["kind"] == Post.Kind.ANSWER:
                post = forum.forum_answer_create(author=author, question=d["parent"], body=d["body"])
            else:
                post = forum.forum_comment_create(author=author, parent=d["parent"], body=d["body"])
        except forum.ForumError as exc:
            return self.invalid(exc)
        return Response(PostOut(post).data, status=status.HTTP_201_CREATED)


class PostDetailApi(ForumApi):
    """Reading a post counts a view (the first of the day records `read`, never for your own post)."""

    @extend_schema(operation_id="forum_post_read", responses={200: PostOut, **forum_errors(404, descriptions={404: NO_POST})})
    def get(self, request, pk: int):
        post = get_object_or_404(Post.objects.select_related("author", "category"), pk=pk)
        forum.forum_read_record(member=self.member(request), post=post)
        return Response(PostOut(post).data)


class VoteIn(serializers.Serializer):
    direction = serializers.ChoiceField(choices=Vote.Direction.choices)


class PostVoteApi(ForumApi):
    @extend_schema(operation_id="forum_post_vote", request=VoteIn,
                   responses={201: VoteIn, **forum_errors(400, 404, descriptions={404: NO_POST})})
    def post(self, request, pk: int):
        data = VoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        vote = forum.forum_vote_cast(member=self.member(request), post=get_object_or_404(Post, pk=pk),
                                     direction=data.validated_data["direction"])
        return Response({"direction": vote.direction}, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="forum_post_vote_retract", responses={
        204: None, **forum_errors(404, descriptions={404: "No such post, or no vote of yours on it."})})
    def delete(self, request, pk: int):
        removed = forum.forum_vote_retract(member=self.member(request), post=get_object_or_404(Post, pk=pk))
        if not removed:
            return Response({"detail": "You have no vote on this post."}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShareIn(serializers.Serializer):
    channel = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class PostShareApi(ForumApi):
    @extend_schema(operation_id="forum_post_share", request=ShareIn,
                   responses={201: None, **forum_errors(400, 404, descriptions={404: NO_POST})})
    def post(self, request, pk: int):
        data = ShareIn(data=request.data)
        data.is_valid(raise_exception=True)
        forum.forum_share(member=self.member(request), post=get_object_or_404(Post, pk=pk),
                          channel=data.validated_data["channel"])
        return Response(status=status.HTTP_201_CREATED)


class PollRespondIn(serializers.Serializer):
    choice = serializers.IntegerField()
    text = serializers.CharField(required=False, allow_blank=True, default="")


class PollRespondApi(ForumApi):
    @extend_schema(operation_id="forum_poll_respond", request=PollRespondIn, responses={
        201: None, **forum_errors(400, 404, descriptions={404: "No such endpoint (the poll id is not an integer)."})})
    def post(self, request, pk: int):
        data = PollRespondIn(data=request.data)
        data.is_valid(raise_exception=True)
        choice = PollChoice.objects.filter(poll_id=pk, pk=data.validated_data["choice"]).first()
        if choice is None:
            return self.invalid(ValueError("not a choice of this poll"), "choice")
        forum.forum_poll_respond(member=self.member(request), choice=choice, text=data.validated_data["text"])
        return Response(status=status.HTTP_201_CREATED)


class MemberFollowApi(ForumApi):
    @extend_schema(operation_id="forum_member_follow", request=None,
                   responses={201: None, **forum_errors(400, 404, descriptions={404: "No such member."})})
    def post(self, request, member_id: int):
        try:
            forum.forum_follow(follower=self.member(request), followee=get_object_or_404(Member, pk=member_id))
        except forum.ForumError as exc:
            return self.invalid(exc)
        return Response(status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="forum_member_unfollow", responses={
        204: None, **forum_errors(404, descriptions={404: "No such member, or you do not follow them."})})
    def delete(self, request, member_id: int):
        removed = forum.forum_unfollow(follower=self.member(request), followee=get_object_or_404(Member, pk=member_id))
        if not removed:
            return Response({"detail": "You do not follow this member."}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)
