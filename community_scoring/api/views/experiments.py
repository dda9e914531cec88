"""Live threshold/config experiments: list and start (admin), read one with its report (admin, community
manager, marketing), stop it and promote a variant in one step (admin)."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.experiment_serializers import (
    ExperimentDetailSerializer, ExperimentListSerializer, ExperimentStartSerializer,
    ExperimentStopSerializer,
)
from community_scoring.api.views.common import errors, path_id
from community_scoring.auth import CanReadMembers, IsAdminRole
from community_scoring.models import Experiment
from community_scoring.outcomes.experiment_report import experiment_get, experiment_report, experiments_list
from community_scoring.outcomes.experiments import experiment_start, experiment_stop


def _user(request):
    return request.user if getattr(request.user, "_meta", None) else None


def _detail(experiment: Experiment) -> dict:
    return ExperimentDetailSerializer({**vars(experiment), "id": experiment.pk,
                                       "report": experiment_report(experiment=experiment)}).data


class _ReadOrAdmin(APIView):
    def get_permissions(self):
        return [CanReadMembers() if self.request.method == "GET" else IsAdminRole()]


class ExperimentListApi(_ReadOrAdmin):
    @extend_schema(operation_id="experiments_list", responses={200: ExperimentListSerializer, **errors()})
    def get(self, request):
        return Response(ExperimentListSerializer({"results": list(experiments_list()[:100])}).data)

    @extend_schema(
        operation_id="experiments_start", request=ExperimentStartSerializer,
        responses={201: ExperimentDetailSerializer, **errors(400)},
        description="Start a live experiment: members who join from now on are split by a hash of their id, "
                    "`share` of them scored by `config_b`, the rest by the current configuration. One at a time.",
    )
    def post(self, request):
        given = ExperimentStartSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        experiment = experiment_start(**given.validated_data, user=_user(request))
        return Response(_detail(experiment), status=status.HTTP_201_CREATED)


def _experiment(experiment_id: int) -> Experiment:
    try:
        return experiment_get(experiment_id=experiment_id)
    except Experiment.DoesNotExist:
        raise Http404("No experiment with this id.")


class ExperimentDetailApi(_ReadOrAdmin):
    @extend_schema(operation_id="experiments_retrieve", parameters=[path_id("experiment_id")],
                   responses={200: ExperimentDetailSerializer, **errors(404)})
    def get(self, request, experiment_id: int):
        return Response(_detail(_experiment(experiment_id)))


class ExperimentStopApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(
        operation_id="experiments_stop", parameters=[path_id("experiment_id")], request=ExperimentStopSerializer,
        responses={200: ExperimentDetailSerializer, **errors(400, 404)},
        description='Stop the split and promote a variant in one step: "B" applies B\'s document as a new config '
                    'version (every score recomputed); "A" or null keeps the current configuration and recomputes '
                    "the B members. The report is kept as it stood.",
    )
    def post(self, request, experiment_id: int):
        _experiment(experiment_id)
        given = ExperimentStopSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        experiment = experiment_stop(experiment_id=experiment_id, promote=given.validated_data["promote"],
                                     user=_user(request))
        return Response(_detail(experiment))
