"""REST ingest: `POST /api/v1/events/`, one event or {"events": [...]} (up to 1,000), for any platform."""
import time

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.renderers import FastJSONParser, FastJSONRenderer
from community_scoring.api.views.common import FieldErrorsSerializer, batch_items, batch_status, errors
from community_scoring.auth import ApiTokenRateThrottle, CanIngest
from community_scoring.services.events import MAX_BATCH, REJECTED
from community_scoring.services.coalesce import actions_ingest_shared
from community_scoring.services.ingest import actions_ingest
from forum_integration.api.serializers import (
    EventBatchSerializer, EventSerializer, IngestResponseSerializer, event_id_given, event_parse,
)
from forum_integration.models import FORUM_SOURCE, DiscourseInstance
from forum_integration.services.discourse import SINGLE_INSTANCE_SOURCE


# (monotonic expiry, sources), per process. A DiscourseInstance saved or deleted through the ORM empties it at once
# in the process that did it; other processes (gunicorn workers) see the change within
# INGEST_RESERVED_SOURCES_CACHE_SECONDS (default 5; 0 disables the cache). It saves a query on every POST.
_reserved: tuple[float, frozenset[str]] | None = None


def reserved_sources_cache_clear(**_) -> None:
    global _reserved
    _reserved = None


post_save.connect(reserved_sources_cache_clear, sender=DiscourseInstance, dispatch_uid="reserved_sources_save")
post_delete.connect(reserved_sources_cache_clear, sender=DiscourseInstance, dispatch_uid="reserved_sources_delete")


def reserved_sources() -> frozenset[str]:
    """Sources the in-process adapters write: a REST client posting under them could pre-empt their event ids."""
    global _reserved
    cached = _reserved
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    sources = frozenset({FORUM_SOURCE, SINGLE_INSTANCE_SOURCE,
                         *DiscourseInstance.objects.values_list("source", flat=True)})
    ttl = float(getattr(settings, "INGEST_RESERVED_SOURCES_CACHE_SECONDS", 5))
    if ttl > 0:
        _reserved = (time.monotonic() + ttl, sources)
    return sources


SHARED_MAX_EVENTS = 50  # requests up to this size may share a batch with concurrent ones


class IngestRateThrottle(ApiTokenRateThrottle):
    """Ingest clients are machines posting one event per request: a higher per-token rate than readers."""

    scope = "ingest"

    def get_rate(self):
        return settings.API_INGEST_THROTTLE_RATE


_EXAMPLE = {
    "source": "acme-forum", "event_id": "e-1001", "type": "comment", "occurred_at": "2026-11-20T10:00:00Z",
    "member": {"external_id": "u-42", "email": "ada@example.com", "name": "Ada",
               "attributes": {"job_title": "Staff Engineer", "company_size": 500}},
    "target_member": {"external_id": "u-7"}, "target_content": {"external_id": "post-9", "topic": "api"},
    "text": "Great write-up, thanks!",
}


class EventIngestApi(APIView):
    """Record community events as actions. Atomic per event: each result says created, duplicate or rejected.

    Status: a batch answers 200 with one result per event, in input order. A single event answers 201 when
    created, 200 when it is a duplicate, 400 when rejected (same body shape). A batch over 1,000 events, a
    body that is not an event or a batch, or malformed JSON answers 400 with field errors and records nothing.
    Per-event limits (services/events.py; stated on the `member.attributes`, `metadata` and `text` fields)
    reject only their event, naming the field.
    """

    permission_classes = [CanIngest]
    throttle_classes = [IngestRateThrottle]
    parser_classes = [FastJSONParser]
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]  # DRF's default pair, the JSON one faster

    @extend_schema(
        operation_id="events_ingest",
        request=PolymorphicProxySerializer(
            component_name="EventOrBatch", serializers=[EventSerializer, EventBatchSerializer], resource_type_field_name=None,
        ),
        responses={
            **errors(),
            200: OpenApiResponse(IngestResponseSerializer, description="A batch (one result per event, in input "
                                                                       "order), or a single duplicate event."),
            201: OpenApiResponse(IngestResponseSerializer, description="A single event, created."),
            400: OpenApiResponse(
                PolymorphicProxySerializer(component_name="IngestRejected", resource_type_field_name=None,
                                           serializers=[IngestResponseSerializer, FieldErrorsSerializer]),
                description="A single event, rejected (its result names the fields); or a body that is not an "
                            "event or a batch, a batch over 1,000 events, or unreadable JSON (field errors, nothing "
                            "recorded)."),
        },
        examples=[OpenApiExample("one event", value=_EXAMPLE, request_only=True),
                  OpenApiExample("a batch", value={"events": [_EXAMPLE]}, request_only=True)],
    )
    def post(self, request):
        unwrapped = batch_items(request.data, key="events", noun="event", limit=MAX_BATCH)
        if isinstance(unwrapped, Response):
            return unwrapped
        raw_events, batch = unwrapped

        results: list[dict | None] = [None] * len(raw_events)
        events, positions = [], []
        reserved = reserved_sources()
        for i, raw in enumerate(raw_events):
            event, errors = event_parse(raw)
            if event is not None and event.source in reserved:
                event, errors = None, {"source": [f"{event.source!r} is reserved for a built-in integration"]}
            if errors:
                results[i] = {"event_id": event_id_given(raw), "status": REJECTED, "errors": errors}
            else:
                events.append(event)
                positions.append(i)
        # Small requests in flight together share one batch and one commit (services.coalesce); large batches
        # are stored on their own, so two of them can overlap their Python and PostgreSQL work.
        store = actions_ingest_shared if len(events) <= SHARED_MAX_EVENTS else actions_ingest
        for i, result in zip(positions, store(events=events) if events else []):
            results[i] = {"event_id": result.event_id, "status": result.status, "errors": result.errors}

        code = batch_status(batch=batch, first=results[0]["status"])
        return Response({"results": results}, status=code)
