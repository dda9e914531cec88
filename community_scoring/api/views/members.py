"""Members: the filtered list, the audience view of one member, and the CSV export."""
from __future__ import annotations

from django.http import Http404, StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.export import EXPORT_COLUMNS, CSVRenderer, member_csv_lines
from community_scoring.api.pagination import KeysetOrder, KeysetSegment, keyset_paginate, page_size_parse
from community_scoring.api.serializers import (
    AudienceSerializer, MemberErasureSerializer, MemberPageSerializer, MemberSerializer, MergeInSerializer,
    UnmergeInSerializer, iso,
)
from community_scoring.api.views.common import CURSOR_PARAMETERS, errors, next_link, path_id
from community_scoring.auth import CanExport, CanReadMembers, IsAdminRole, request_can_see_pii
from community_scoring.gaming.selectors import member_exclusions
from community_scoring.models import Member
from community_scoring.services.erasure import member_erase
from community_scoring.outcomes.selectors import member_outcomes
from community_scoring.selectors import interest as interest_selectors
from community_scoring.services.identity import IdentityError, member_unmerge, members_merge
from community_scoring.selectors.members import (
    MemberFilter, member_audience, member_get, member_get_with_identities, member_keyset_segments, member_list,
    member_lookup, member_ordering, member_sort_keys,
)

ORDERING_PARAMETER = OpenApiParameter(
    "ordering", str,
    enum=[f"{sign}{key}" for key in member_sort_keys() for sign in ("", "-")],
    description="Sort key; `-` for descending. Default `id` (fully stable paging).",
)
PERIOD_PARAMETER = OpenApiParameter(
    "period", str, enum=["7d", "30d", "90d", "all"], description="Window of the score history (default 30d)."
)


class MemberListApi(generics.GenericAPIView):
    """Members with current scores, filtered, ordered by any score, paged by cursor."""

    permission_classes = [CanReadMembers]
    filter_backends = [DjangoFilterBackend]  # declared for the schema; the selector applies MemberFilter itself
    filterset_class = MemberFilter
    queryset = Member.objects.none()

    @extend_schema(
        operation_id="members_list", filters=True, parameters=[ORDERING_PARAMETER, *CURSOR_PARAMETERS],
        responses={200: MemberPageSerializer, **errors(400)},
    )
    def get(self, request):
        ordering = member_ordering(request.query_params.get("ordering"))
        page_size = page_size_parse(request.query_params.get("page_size"))
        can_see_pii = request_can_see_pii(request)
        valued_at = interest_selectors.valued_now()
        members = member_list(filters=request.query_params, ordering=ordering, can_see_pii=can_see_pii, at=valued_at)
        order = KeysetOrder(
            name=f"members:{'-' if ordering.descending else ''}{ordering.key}",
            value_field="id" if ordering.key == "id" else "sort_value",
            id_field="id",
            descending=ordering.descending,
            is_datetime=ordering.is_datetime,
        )
        segments = member_keyset_segments(ordering)
        page = keyset_paginate(
            queryset=members, order=order, cursor=request.query_params.get("cursor"), page_size=page_size,
            segments=[KeysetSegment(*segment) for segment in segments] if segments else None,
        )
        interest_selectors.interest_rows_value(((getattr(m, "interest", None), m) for m in page.rows), at=valued_at)
        results = MemberSerializer(page.rows, many=True, context={"can_see_pii": can_see_pii}).data
        return Response({"next": next_link(request, page), "results": results,
                         "valued_at": iso(valued_at)})


def _audience_response(request, member: Member, identities: list[Member] | None = None) -> Response:
    period = request.query_params.get("period") or "30d"
    can_see_pii = request_can_see_pii(request)
    data = {**member_audience(member=member, period=period, identities=identities),
            "outcomes": member_outcomes(member_id=member.pk)}
    # The engine's selectors know no gaming package (it depends on the engine): its part is added here.
    data["exclusions"] = member_exclusions(member_id=member.pk)
    return Response(AudienceSerializer(data, context={"can_see_pii": can_see_pii}).data)


class MemberAudienceApi(APIView):
    """The unified audience view of one member, by id."""

    permission_classes = [CanReadMembers]

    @extend_schema(
        operation_id="members_retrieve", parameters=[path_id("member_id"), PERIOD_PARAMETER],
        responses={200: AudienceSerializer, **errors(400, 404)},
    )
    def get(self, request, member_id: int):
        try:
            member, identities = member_get_with_identities(member_id=member_id)
        except Member.DoesNotExist:
            raise Http404("No member with this id.")
        return _audience_response(request, member, identities)


def _member_or_404(member_id: int) -> Member:
    try:
        return member_get(member_id=member_id)
    except Member.DoesNotExist:
        raise Http404("No member with this id.")


class MemberMergeApi(APIView):
    """Merge members into this one (admins): one person, one member. Scores are recomputed from the log."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="members_merge", parameters=[path_id("member_id")], request=MergeInSerializer,
                   responses={200: AudienceSerializer, **errors(400, 404)})
    def post(self, request, member_id: int):
        member = _member_or_404(member_id)
        body = MergeInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            members_merge(into=member.pk, others=body.validated_data["members"], by=str(request.user))
        except IdentityError as error:
            raise exceptions.ValidationError({error.field: [str(error)]})
        return _audience_response(request, member_get(member_id=member.pk))


class MemberUnmergeApi(APIView):
    """Split an identity off this member (admins); it is never merged back automatically."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="members_unmerge", parameters=[path_id("member_id")], request=UnmergeInSerializer,
                   responses={200: AudienceSerializer, **errors(400, 404)})
    def post(self, request, member_id: int):
        member = _member_or_404(member_id)
        body = UnmergeInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            member_unmerge(member=member.pk, identity=body.validated_data["identity"], by=str(request.user))
        except IdentityError as error:
            raise exceptions.ValidationError({error.field: [str(error)]})
        return _audience_response(request, member_get(member_id=member.pk))


class MemberEraseApi(APIView):
    """Erase this member at their request (admins): personal data and texts gone, actions kept anonymous, so
    nobody else's scores move. Idempotent: asking again answers the first erasure's record."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="members_erase", parameters=[path_id("member_id", "A member's or identity's id.")],
                   request=None, responses={200: MemberErasureSerializer, **errors(404)})
    def post(self, request, member_id: int):
        try:
            erasure = member_erase(member_id=member_id, requested_by=str(request.user))
        except Member.DoesNotExist:
            raise Http404("No member with this id.")
        return Response(MemberErasureSerializer(erasure).data)


class MemberLookupApi(APIView):
    """The audience view of one member found by external id (with source when ambiguous) or by email."""

    permission_classes = [CanReadMembers]

    @extend_schema(
        operation_id="members_lookup",
        parameters=[
            OpenApiParameter("external_id", str, description="The member's id on its source platform."),
            OpenApiParameter("source", str, description="Source platform, needed when the external id is ambiguous."),
            OpenApiParameter("email", str, description="Email (case-insensitive); needs PII access."),
            PERIOD_PARAMETER,
        ],
        responses={200: AudienceSerializer, **errors(400, 404)},
    )
    def get(self, request):
        params = request.query_params
        if params.get("email") and not params.get("external_id") and not request_can_see_pii(request):
            raise exceptions.PermissionDenied("Looking members up by email needs PII access.")
        for name in ("external_id", "source", "email"):
            if "\x00" in params.get(name, ""):
                raise exceptions.ValidationError({name: ["must not contain NUL characters"]})
        try:
            member = member_lookup(
                external_id=params.get("external_id") or None, source=params.get("source") or None,
                email=params.get("email") or None,
            )
        except Member.DoesNotExist:
            raise Http404("No member matches.")
        return _audience_response(request, member)


class MemberExportApi(generics.GenericAPIView):
    """The filtered member list as CSV, streamed row by row from a server-side cursor (flat memory)."""

    permission_classes = [CanExport]
    renderer_classes = [JSONRenderer, CSVRenderer]
    filter_backends = [DjangoFilterBackend]
    filterset_class = MemberFilter
    queryset = Member.objects.none()

    @extend_schema(
        operation_id="members_export", filters=True, parameters=[ORDERING_PARAMETER],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="CSV with a header row; columns: " + ", ".join(EXPORT_COLUMNS)
            ),
            **errors(400, 404, descriptions={404: "No renderer for the `format` asked for."}),
        },
    )
    def get(self, request):
        ordering = member_ordering(request.query_params.get("ordering"))
        valued_at = interest_selectors.valued_now()
        members = member_list(filters=request.query_params, ordering=ordering, can_see_pii=True, at=valued_at)
        prefix = "-" if ordering.descending else ""
        key = "id" if ordering.key == "id" else "sort_value"
        ordered = members.order_by(f"{prefix}{key}", f"{prefix}id") if key != "id" else members.order_by(f"{prefix}id")
        response = StreamingHttpResponse(member_csv_lines(members=ordered, at=valued_at), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="members.csv"'
        response["X-Valued-At"] = valued_at.isoformat()
        return response
