"""Calibration of action-type weights (start, follow, preview, apply, reject) and offline A/B replays of configs.
Admin only: both read the whole log and the outcomes, and applying changes the configuration.

Definitions of every figure: outcomes/services/calibration.py and outcomes/services/replay.py.
"""
from __future__ import annotations

import re
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.serializers import ConfigPreviewSerializer, MomentField
from community_scoring.api.views.common import errors, path_id
from community_scoring.auth import IsAdminRole
from community_scoring.outcomes.models import CalibrationRun
from community_scoring.outcomes.selectors import conversion_types_parse
from community_scoring.outcomes.services.calibration import (
    CalibrationStateError, calibration_apply, calibration_preview, calibration_reject, calibration_start,
)
from community_scoring.services.events import EARLIEST
from community_scoring.outcomes.services.replay import replay_compare, replay_variant_document

PERIOD = re.compile(r"^([1-9][0-9]{0,3})d$")


def period_days_parse(value: str) -> int:
    """"90d" -> 90 (1 to 3650 days); anything else a validation error naming the format."""
    match = PERIOD.match(value or "")
    if not match or int(match.group(1)) > 3650:
        raise serializers.ValidationError('a number of days followed by "d", 1d to 3650d (e.g. "90d")')
    return int(match.group(1))


class _OutcomeWindowSerializer(serializers.Serializer):
    within_days = serializers.IntegerField(min_value=1, max_value=365, default=30,
                                           help_text="A positive is a conversion within this many days.")
    end = MomentField(required=False, help_text="End of the evaluated period (default: now).")
    conversion_types = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, allow_empty=False,
        help_text="Outcome types that count as a conversion (`converted:trial` names a custom one); default: "
                  "settings.OUTCOME_CONVERSION_TYPES.")

    def validate_end(self, value):
        if value > timezone.now():
            raise serializers.ValidationError("must not be in the future")
        if value < EARLIEST:
            raise serializers.ValidationError("must be in 1970 or later")
        return value

    def validate_conversion_types(self, value):
        try:
            return list(conversion_types_parse(value))
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from error


class CalibrationStartSerializer(_OutcomeWindowSerializer):
    period = serializers.CharField(default="365d", help_text="Activity look-back of the population (\"365d\").")
    fit_half_life = serializers.BooleanField(default=True, help_text="Also choose the half-life (7..180 days).")

    def validate_period(self, value):
        return period_days_parse(value)


class CalibrationRunSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True, help_text="done / total, 0..1.")
    result = serializers.JSONField(read_only=True, help_text=(
        "When done: `weights` [{action_type, side, current_points, suggested_points, coefficient}], `current` and "
        "`suggested` {auc, mql_count, mql_converted, mql_precision} on the held-out period, `training` and "
        "`evaluation` {at, until, members, converted}, `half_life_days`, `half_life_search`, `model`."))

    class Meta:
        model = CalibrationRun
        fields = ["id", "status", "progress", "done", "total", "step", "parameters", "result", "error",
                  "created_at", "started_at", "finished_at", "decided_at", "applied_version"]
        read_only_fields = fields


class CalibrationRunListSerializer(serializers.Serializer):
    results = CalibrationRunSerializer(many=True)


class CalibrationPreviewSerializer(ConfigPreviewSerializer):
    document = serializers.JSONField(help_text="The configuration applying would save.")


def _run(run_id: int) -> CalibrationRun:
    run = CalibrationRun.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404("No calibration with this id.")
    return run


def _state_as_400(call):
    try:
        return call()
    except CalibrationRun.DoesNotExist as missing:
        raise Http404("No calibration with this id.") from missing
    except CalibrationStateError as error:
        raise serializers.ValidationError({"status": [str(error)]}) from error


class CalibrationListApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="calibrations_list", responses={200: CalibrationRunListSerializer, **errors()})
    def get(self, request):
        runs = CalibrationRun.objects.order_by("-id")[:20]
        return Response(CalibrationRunListSerializer({"results": runs}).data)

    @extend_schema(
        operation_id="calibrations_start", request=CalibrationStartSerializer,
        responses={202: CalibrationRunSerializer, **errors(400)},
        description="Fit action-type weights on an earlier period and evaluate them on a later one, in the "
                    "background. Follow it at /api/v1/calibrations/{id}/. Nothing is applied by itself.",
    )
    def post(self, request):
        data = CalibrationStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        params["period_days"] = params.pop("period")
        run = calibration_start(parameters=params, user=request.user)
        run.refresh_from_db()  # eager mode may have run it already
        return Response(CalibrationRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class CalibrationDetailApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="calibrations_retrieve", parameters=[path_id("run_id")],
                   responses={200: CalibrationRunSerializer, **errors(404)})
    def get(self, request, run_id: int):
        return Response(CalibrationRunSerializer(_run(run_id)).data)


class CalibrationPreviewApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="calibrations_preview", parameters=[path_id("run_id")],
                   responses={200: CalibrationPreviewSerializer, **errors(400, 404)},
                   description="Who would change stage if the suggested points were applied now (nothing is written).")
    def get(self, request, run_id: int):
        return Response(CalibrationPreviewSerializer(_state_as_400(lambda: calibration_preview(run_id=run_id))).data)


class CalibrationApplyApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="calibrations_apply", parameters=[path_id("run_id")], request=None,
                   responses={200: CalibrationRunSerializer, **errors(400, 404)},
                   description="Save the suggested points as a new config version (which recomputes interest).")
    def post(self, request, run_id: int):
        run = _state_as_400(lambda: calibration_apply(run_id=run_id, user=request.user))
        return Response(CalibrationRunSerializer(run).data)


class CalibrationRejectApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="calibrations_reject", parameters=[path_id("run_id")], request=None,
                   responses={200: CalibrationRunSerializer, **errors(400, 404)},
                   description="Reject the suggestion; the configuration is left as it is.")
    def post(self, request, run_id: int):
        run = _state_as_400(lambda: calibration_reject(run_id=run_id, user=request.user))
        return Response(CalibrationRunSerializer(run).data)


# --- offline replay ------------------------------------------------------------------------------------------

class ReplayRequestSerializer(_OutcomeWindowSerializer):
    a = serializers.JSONField(help_text='Variant A: a config document, or {"mql_min_engagement": 60} (and/or '
                                        '"mql_min_fit") over the current configuration.')
    b = serializers.JSONField(help_text="Variant B, as A.")
    period = serializers.CharField(default="90d", help_text="Days replayed, ending `within_days` before `end`.")
    capacity_per_week = serializers.FloatField(required=False, min_value=0.0, max_value=1e9,
                                               help_text="Sales capacity: also find each variant's MQL threshold "
                                                         "that keeps weekly MQLs within it.")

    def validate_period(self, value):
        return period_days_parse(value)

    def validate_a(self, value):
        return replay_variant_document(spec=value)

    def validate_b(self, value):
        return replay_variant_document(spec=value)


class ReplayVariantSerializer(serializers.Serializer):
    mql_min_engagement = serializers.FloatField(allow_null=True)
    mql_min_fit = serializers.FloatField(allow_null=True)
    already_mql = serializers.IntegerField(help_text="MQL or above on the day before the window: not produced.")
    mqls = serializers.IntegerField(help_text="MQLs produced in the window.")
    converted = serializers.IntegerField(help_text="Of them, converted within `within_days` of becoming MQL.")
    precision = serializers.FloatField(allow_null=True)
    precision_interval = serializers.ListField(child=serializers.FloatField(), allow_null=True,
                                               help_text="95% Wilson interval of the precision.")
    mqls_per_week = serializers.ListField(child=serializers.IntegerField())
    mean_per_week = serializers.FloatField()
    capacity_threshold = serializers.JSONField(allow_null=True)


class ReplayResultSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    days = serializers.IntegerField()
    within_days = serializers.IntegerField()
    members = serializers.IntegerField()
    conversion_types = serializers.ListField(child=serializers.CharField())
    mature = serializers.BooleanField(help_text="Every MQL of the window had its full within_days to convert.")
    variants = serializers.DictField(child=ReplayVariantSerializer())


class ReplayApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(
        operation_id="experiments_replay", request=ReplayRequestSerializer,
        responses={200: ReplayResultSerializer, **errors(400)},
        description="Replay the log under two configs (or two MQL thresholds): MQLs produced, how many converted, "
                    "precision and volume per week for each. Nothing is written.",
    )
    def post(self, request):
        data = ReplayRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = replay_compare(a=v["a"], b=v["b"], period_days=v["period"], within_days=v["within_days"],
                                end=v.get("end"), conversion_types=v.get("conversion_types"),
                                capacity_per_week=v.get("capacity_per_week"))
        return Response(ReplayResultSerializer(result).data)

