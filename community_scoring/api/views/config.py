"""Scoring configuration: read and change the interest document and the influence parameters, preview a change,
browse and restore versions. Admin only.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.pagination import KeysetOrder, keyset_paginate, page_size_parse
from community_scoring.api.serializers import (
    ConfigAppliedSerializer, ConfigPreviewSerializer, ConfigVersionPageSerializer, ConfigVersionSerializer,
    InfluenceConfigPatchSerializer, InfluenceConfigReadSerializer, InterestConfigReadSerializer,
    InterestConfigSerializer, InterestConfigWriteSerializer,
)
from community_scoring.api.views.common import CURSOR_PARAMETERS, errors, next_link, path_id
from community_scoring.auth import IsAdminRole
from community_scoring.influence.config import influence_config_get, influence_config_update
from community_scoring.models import ConfigVersion, RecomputeJob
from community_scoring.services.config import config_apply, config_preview, config_snapshot


def _body_object(request) -> dict:
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["the body must be a JSON object"]})
    return dict(request.data)


def _author(request) -> tuple[object | None, str]:
    """The Django user to record as the version's author, and a label for token callers (kept in the note)."""
    user = request.user
    if isinstance(user, get_user_model()):
        return user, ""
    return None, f"[{user}] "


def _applied(request, snapshot: dict, note: str) -> Response:
    user, label = _author(request)
    version = config_apply(snapshot=snapshot, user=user, note=(label + note)[:300])
    job = RecomputeJob.objects.filter(kind=RecomputeJob.Kind.INTEREST, config_version=version.number).first()
    return Response(ConfigAppliedSerializer({"version": version, "recompute": job}).data)


def latest_version_number() -> int:
    return ConfigVersion.objects.order_by("-number").values_list("number", flat=True).first() or 0


class InterestConfigApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="config_interest_retrieve", responses={200: InterestConfigReadSerializer, **errors()})
    def get(self, request):
        return Response(InterestConfigReadSerializer({**config_snapshot(), "version": latest_version_number()}).data)

    @extend_schema(
        operation_id="config_interest_update", request=InterestConfigWriteSerializer,
        responses={200: ConfigAppliedSerializer, **errors(400)},
        description="Replace the interest configuration (rule sets with weights, caps, once-only rules, decay "
                    "half-life and inactivity; fit rules; stages). Records a new config version and starts a full "
                    "recompute. Errors name the field by path, e.g. `rule_sets[0].rules[2].daily_cap`.",
    )
    def put(self, request):
        body = _body_object(request)
        note = body.pop("note", "") or ""
        if not isinstance(note, str):
            raise exceptions.ValidationError({"note": ["must be a string"]})
        return _applied(request, body, note)


class InterestConfigPreviewApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(
        operation_id="config_interest_preview", request=InterestConfigSerializer,
        responses={200: ConfigPreviewSerializer, **errors(400)},
        description="Dry run: how many members would change stage (and between which stages) if this "
                    "configuration were applied now. Nothing is written.",
    )
    def post(self, request):
        return Response(ConfigPreviewSerializer(config_preview(snapshot=_body_object(request))).data)


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

    @extend_schema(operation_id="config_influence_retrieve", responses={200: InfluenceConfigReadSerializer, **errors()})
    def get(self, request):
        return Response(InfluenceConfigReadSerializer(influence_config_get()).data)

    @extend_schema(
        operation_id="config_influence_partial_update", request=InfluenceConfigPatchSerializer,
        responses={200: InfluenceConfigReadSerializer, **errors(400)},
        description="Change some influence parameters (damping, edge weights, decay, windows, formula weights, "
                    "advocate/detractor thresholds, schedule). Takes effect at the next influence run "
                    "(POST /api/v1/recompute/influence/ or the schedule). Each change is recorded as a new config version.",
    )
    def patch(self, request):
        user, _ = _author(request)
        with transaction.atomic():
            data = influence_config_update(changes=_body_object(request), user=user)
        return Response(InfluenceConfigReadSerializer(data).data)
