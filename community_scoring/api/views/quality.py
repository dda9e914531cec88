"""The quality report: how well the interest score predicted conversion, and what the MQLs became."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.serializers import QualityReportSerializer
from community_scoring.api.views.common import errors
from community_scoring.auth import CanReadMembers
from community_scoring.outcomes.services.quality import quality_query_parse, quality_report


class QualityReportApi(APIView):
    """GET the quality report for a period, persona and source (figures defined in quality_report)."""

    permission_classes = [CanReadMembers]

    @extend_schema(
        operation_id="quality_retrieve",
        parameters=[
            OpenApiParameter("period", str, description='The period before `end`: "90d" (days) or "12w" (weeks); '
                                                        "default 90d, at most 3650 days."),
            OpenApiParameter("within_days", int, description="N: a conversion within N days of T counts; "
                                                             "T = end - N. Default 30."),
            OpenApiParameter("persona", str, description="Only members of this persona (ignoring case)."),
            OpenApiParameter("source", str, description="Only members who came through this source (any of their "
                                                        "identities)."),
            OpenApiParameter("conversions", str, description="Comma-separated outcome types that count as a "
                                                             'conversion ("converted:trial" names one custom '
                                                             "conversion); default the configured set."),
            OpenApiParameter("capacity", float, description="MQLs sales can take a week (default the setting)."),
            OpenApiParameter("end", str, description="The period's end, ISO 8601 (a date alone: the end of that "
                                                     "day, UTC); default now."),
        ],
        responses={200: QualityReportSerializer, **errors(400)},
        description=(
            "T = end - within_days. Population: members (not staff) of the persona and source with an action at "
            "or before T who had not converted by T; each scored by their interest at T from the log; a positive "
            "is a conversion in (T, end]. Answers AUC, top-decile lift, conversion rate per stage and per score "
            "decile, MQL precision, MQL -> SQL rate, sales acceptance rate, median days from MQL to conversion "
            "and MQLs per week against sales capacity. A figure without data is null."
        ),
    )
    def get(self, request):
        query = quality_query_parse(params=request.query_params)
        return Response(QualityReportSerializer(quality_report(**query)).data)
