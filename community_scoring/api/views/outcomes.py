"""Outcomes: `POST /api/v1/outcomes/`, one outcome or {"outcomes": [...]} (up to 1,000), answered like events."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.outcome_serializers import (
    OutcomeBatchSerializer, OutcomeResponseSerializer, OutcomeSerializer, outcome_read,
)
from community_scoring.api.renderers import FastJSONParser, FastJSONRenderer
from community_scoring.api.views.common import FieldErrorsSerializer, batch_items, batch_status, errors
from community_scoring.auth import CanRecordOutcomes
from community_scoring.outcomes.services.intake import MAX_BATCH, REJECTED, OutcomeResult, outcomes_record

_EXAMPLE = {
    "source": "crm", "outcome_id": "opp-7781-accepted", "type": "sales_accepted",
    "occurred_at": "2026-11-20T10:00:00Z", "member": {"email": "ada@example.com"},
    "reason": "Budget confirmed for Q1", "value": "",
}


class OutcomeRecordApi(APIView):
    """Record outcomes: sales decisions, pipeline steps, conversions. Each result says created, duplicate or
    rejected; the same (source, outcome_id) is stored once.

    Status: a batch answers 200 with one result per outcome, in input order. A single outcome answers 201 when
    created, 200 when it is a duplicate, 400 when rejected (same body shape). A batch over 1,000 outcomes, a
    body that is not an outcome or a batch, or malformed JSON answers 400 with field errors and records nothing.
    An unknown member rejects only its outcome, with an error on `member`.
    """

    permission_classes = [CanRecordOutcomes]
    parser_classes = [FastJSONParser]
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]

    @extend_schema(
        operation_id="outcomes_record",
        request=PolymorphicProxySerializer(
            component_name="OutcomeOrBatch", serializers=[OutcomeSerializer, OutcomeBatchSerializer],
            resource_type_field_name=None,
        ),
        responses={
            **errors(),
            200: OpenApiResponse(OutcomeResponseSerializer, description="A batch (one result per outcome, in "
                                                                        "input order), or a single duplicate."),
            201: OpenApiResponse(OutcomeResponseSerializer, description="A single outcome, created."),
            400: OpenApiResponse(
                PolymorphicProxySerializer(component_name="OutcomeRejected", resource_type_field_name=None,
                                           serializers=[OutcomeResponseSerializer, FieldErrorsSerializer]),
                description="A single outcome, rejected (its result names the fields); or a body that is not an "
                            "outcome or a batch, a batch over 1,000 outcomes, or unreadable JSON (field errors, "
                            "nothing recorded)."),
        },
        examples=[OpenApiExample("one outcome", value=_EXAMPLE, request_only=True),
                  OpenApiExample("a batch", value={"outcomes": [_EXAMPLE]}, request_only=True)],
    )
    def post(self, request):
        unwrapped = batch_items(request.data, key="outcomes", noun="outcome", limit=MAX_BATCH)
        if isinstance(unwrapped, Response):
            return unwrapped
        raw, batch = unwrapped

        results: list[OutcomeResult | None] = [None] * len(raw)
        outcomes, positions = [], []
        for i, item in enumerate(raw):
            outcome, shape_errors = outcome_read(item)
            if outcome is None:
                named = item.get("outcome_id") if isinstance(item, dict) else None
                shown = str(named) if isinstance(named, (str, int)) and not isinstance(named, bool) else None
                results[i] = OutcomeResult(shown, REJECTED, shape_errors)
            else:
                outcomes.append(outcome)
                positions.append(i)
        for i, result in zip(positions, outcomes_record(outcomes=outcomes, recorded_by=str(request.user))):
            results[i] = result
        body = {"results": [{"outcome_id": r.outcome_id, "status": r.status, "errors": r.errors} for r in results]}
        code = batch_status(batch=batch, first=results[0].status)
        return Response(body, status=code)
