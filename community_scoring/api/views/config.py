"""Scoring configuration: read and change the interest document and the influence parameters, preview a change,
browse and restore versions. Admin only.

What a GET answers can be sent back unchanged: its `version` is the version it was read at, and a change naming
a version older than the latest is refused with 409 (a change without one applies).
"""
from __future__ import annotations

from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.pagination import KeysetOrder, keyset_paginate, page_size_parse
from community_scoring.api.serializers import (
    ConfigAppliedSerializer, ConfigPreviewSerializer, ConfigVersionPageSerializer, ConfigVersionSerializer,
    InfluenceConfigSerializer, InterestConfigChangeSerializer,
)
from community_scoring.api.views.common import CURSOR_PARAMETERS, errors, next_link, path_id
from community_scoring.auth import IsAdminRole
from community_scoring.influence.selectors import influence_config_get
from community_scoring.models import ConfigVersion, RecomputeJob
from community_scoring.selectors.config import config_snapshot, config_version_latest
from community_scoring.services.config import (
    ConfigVersionConflict, config_apply, config_preview, influence_config_update,
)

ERROR_409 = OpenApiResponse(
    {"type": "object", "properties": {"version": {"type": "array", "items": {"type": "string"}}},
     "required": ["version"]},
    description="The change was read at an older version than the latest: read again, change, send again.",
)


class VersionConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "version_conflict"


@contextmanager
def _conflict_as_409():
    try:
        yield
    except ConfigVersionConflict as conflict:
        raise VersionConflict({"version": [str(conflict)]}) from conflict


def _author(request) -> tuple[object | None, str]:
    """The Django user to record as the version's author, and a label for token callers (kept in the note)."""
    user = request.user
    if isinstance(user, get_user_model()):
        return user, ""
    return None, f"[{user}] "


def _applied(request, snapshot, note: str) -> Response:
    user, label = _author(request)
    with _conflict_as_409():
        version = config_apply(snapshot=snapshot, user=user, note=label + note)
    job = RecomputeJob.objects.filter(kind=RecomputeJob.Kind.INTEREST, config_version=version.number).first()
    return Response(ConfigAppliedSerializer({"version": version, "recompute": job}).data)


class InterestConfigApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="config_interest_retrieve", responses={200: InterestConfigChangeSerializer, **errors()})
    def get(self, request):
        document = {**config_snapshot(), "version": config_version_latest()}
        return Response(InterestConfigChangeSerializer(document).data)

    @extend_schema(
        operation_id="config_interest_update", request=InterestConfigChangeSerializer,
        responses={200: ConfigAppliedSerializer, **errors(400), 409: ERROR_409},
        description="Replace the interest configuration (rule sets with weights, caps, once-only rules, decay "
                    "half-life and inactivity; fit rules; stages). Records a new config version and starts a full "
                    "recompute. What GET answers can be sent back unchanged: `version` is the version it was read "
                    "at, and if another version was saved since, the change is refused with 409 (without "
                    "`version` it applies). Errors name the field by path, e.g. `rule_sets[0].rules[2].daily_cap`.",
    )
    def put(self, request):
        return _applied(request, request.data, "")


class InterestConfigPreviewApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(
        operation_id="config_interest_preview", request=InterestConfigChangeSerializer,
        responses={200: ConfigPreviewSerializer, **errors(400)},
        description="Dry run: how many members would change stage (and between which stages) if this "
                    "configuration were applied now. Takes the body a PUT takes (`version`, `note` and "
                    "`influence` are checked, then ignored). Nothing is written.",
    )
    def post(self, request):
        return Response(ConfigPreviewSerializer(config_preview(snapshot=request.data)).data)


class ConfigVersionListApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(
        operation_id="config_versions_list", parameters=CURSOR_PARAMETERS,
        responses={200: ConfigVersionPageSerializer, **errors(400)},
    )
    def get(self, request):
        page = keyset_paginate(
            queryset=ConfigVersion.objects.select_related("created_by"),
            order=KeysetOrder(name="versions", value_field="number", id_field="number", descending=True),
            cursor=request.query_params.get("cursor"), page_size=page_size_parse(request.query_params.get("page_size")),
        )
        return Response(ConfigVersionPageSerializer({"next": next_link(request, page), "results": page.rows}).data)


def _version(number: int) -> ConfigVersion:
    version = ConfigVersion.objects.select_related("created_by").filter(number=number).first()
    if version is None:
        raise Http404("No config version with this number.")
    return version


class ConfigVersionDetailApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="config_versions_retrieve", parameters=[path_id("number")], responses={200: ConfigVersionSerializer, **errors(404)})
    def get(self, request, number: int):
        return Response(ConfigVersionSerializer(_version(number)).data)


class ConfigVersionRestoreApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(
        operation_id="config_versions_restore", request=None, parameters=[path_id("number")],
        responses={200: ConfigAppliedSerializer, **errors(400, 404)},
        description="Apply an earlier version's document again, as a new version (history is never rewritten).",
    )
    def post(self, request, number: int):
        version = _version(number)
        return _applied(request, dict(version.snapshot), f"restore of v{version.number}")


class InfluenceConfigApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="config_influence_retrieve", responses={200: InfluenceConfigSerializer, **errors()})
    def get(self, request):
        return Response(InfluenceConfigSerializer({**influence_config_get(), "version": config_version_latest()}).data)

    @extend_schema(
        operation_id="config_influence_partial_update", request=InfluenceConfigSerializer,
        responses={200: InfluenceConfigSerializer, **errors(400), 409: ERROR_409},
        description="Change some influence parameters (damping, edge weights, decay, windows, formula weights, "
                    "advocate/detractor thresholds, schedule). Takes effect at the next influence run "
                    "(POST /api/v1/recompute/influence/ or the schedule). Each change is recorded as a new config "
                    "version. What GET answers can be sent back unchanged (`updated_at` is ignored); `version` is "
                    "the version it was read at, and if another version was saved since, the change is refused "
                    "with 409 (without `version` it applies).",
    )
    def patch(self, request):
        user, _ = _author(request)
        with _conflict_as_409():
            data = influence_config_update(changes=request.data, user=user)
        return Response(InfluenceConfigSerializer({**data, "version": config_version_latest()}).data)
