"""Start a recompute of interest or influence and follow its progress. Admin only."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.serializers import (
    InfluenceRunPageSerializer, InfluenceRunSerializer, RecomputeJobListSerializer, RecomputeJobSerializer,
)
from community_scoring.api.views.common import errors, path_id
from community_scoring.selectors.config import config_version_latest as latest_version_number
from community_scoring.auth import IsAdminRole
from community_scoring.influence.models import InfluenceRun
from community_scoring.influence.services import influence_run_request
from community_scoring.influence.selectors import influence_runs, run_record
from community_scoring.models import RecomputeJob
from community_scoring.services.recompute import recompute_job_start


class InterestRecomputeListApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="recompute_interest_list", responses={200: RecomputeJobListSerializer, **errors()})
    def get(self, request):
        jobs = RecomputeJob.objects.filter(kind=RecomputeJob.Kind.INTEREST).order_by("-id")[:20]
        return Response(RecomputeJobListSerializer({"results": jobs}).data)

    @extend_schema(
        operation_id="recompute_interest_start", request=None, responses={202: RecomputeJobSerializer, **errors()},
        description="Recompute every interest score from the action log in the background (chunked). "
                    "Follow it at /api/v1/recompute/interest/{id}/.",
    )
    def post(self, request):
        job = recompute_job_start(config_version=latest_version_number())
        job.refresh_from_db()  # eager mode may have run it already
        return Response(RecomputeJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class InterestRecomputeDetailApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="recompute_interest_retrieve", parameters=[path_id("job_id")], responses={200: RecomputeJobSerializer, **errors(404)})
    def get(self, request, job_id: int):
        job = RecomputeJob.objects.filter(pk=job_id, kind=RecomputeJob.Kind.INTEREST).first()
        if job is None:
            raise Http404("No interest recompute with this id.")
        return Response(RecomputeJobSerializer(job).data)


class InfluenceRecomputeListApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="recompute_influence_list", responses={200: InfluenceRunPageSerializer, **errors()})
    def get(self, request):
        return Response(InfluenceRunPageSerializer({"results": [run_record(r) for r in influence_runs(limit=20)]}).data)

    @extend_schema(
        operation_id="recompute_influence_start", request=None, responses={202: InfluenceRunSerializer, **errors()},
        description="Recompute centrality, reach, sentiment and influence in the background; the new scores "
                    "replace the old ones at once when the run is done.",
    )
    def post(self, request):
        run = influence_run_request(trigger="api")
        run.refresh_from_db()
        return Response(InfluenceRunSerializer(run_record(run)).data, status=status.HTTP_202_ACCEPTED)


class InfluenceRecomputeDetailApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="recompute_influence_retrieve", parameters=[path_id("run_id")], responses={200: InfluenceRunSerializer, **errors(404)})
    def get(self, request, run_id: int):
        run = InfluenceRun.objects.filter(pk=run_id).first()
        if run is None:
            raise Http404("No influence run with this id.")
        return Response(InfluenceRunSerializer(run_record(run)).data)
