"""Pieces every API view shares: documented error responses, a keyset page response, and the batch envelope of
the ingest endpoints (events, outcomes)."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.views import APIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from community_scoring.api.pagination import KeysetPage
from community_scoring.api.serializers import ErrorSerializer


class FieldErrorsSerializer(serializers.Serializer):
    """The body of every 400 (see api/exceptions.py): each offending field, dotted path or `non_field_errors`,
    mapped to its messages. Documentation only; FieldErrorsSchema gives its OpenAPI shape."""


class FieldErrorsSchema(OpenApiSerializerExtension):
    target_class = FieldErrorsSerializer

    def map_serializer(self, auto_schema, direction):
        return {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "description": "Each offending field (dotted for nested fields, `non_field_errors` for the body as "
                               "a whole) mapped to its messages."}


ERROR_401 = OpenApiResponse(ErrorSerializer, description="No or invalid credentials.")
ERROR_403 = OpenApiResponse(ErrorSerializer, description="The caller's role may not do this.")
ERROR_404 = OpenApiResponse(ErrorSerializer, description="No such object.")
ERROR_429 = OpenApiResponse(ErrorSerializer, description="Too many requests for this token.")
ERROR_503 = OpenApiResponse(ErrorSerializer, description="The database, cache or broker is unavailable for a moment: "
                                                         "retry after the Retry-After header's seconds.")
ERROR_400 = OpenApiResponse(FieldErrorsSerializer, description="Validation failed, or the body is not readable "
                                                               "JSON: each offending field mapped to its messages.")


def errors(*codes: int, descriptions: dict[int, str] | None = None) -> dict:
    """Responses for the given extra codes (400, 404) plus 401/403/429/503, which every endpoint can return.
    `descriptions` rewords some for an endpoint (what its 404 means, say); the body shapes stay the documented ones."""
    table = {400: ERROR_400, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404, 429: ERROR_429, 503: ERROR_503}
    responses = {code: table[code] for code in (401, 403, 429, 503, *codes)}
    for code, description in (descriptions or {}).items():
        responses[code] = OpenApiResponse(responses[code].response, description=description)
    return responses


CURSOR_PARAMETERS = [
    OpenApiParameter("cursor", str, description="Opaque cursor from a previous page's `next` link."),
    OpenApiParameter("page_size", int, description="Rows per page, 1-500 (default 50)."),
]


def path_id(name: str, description: str = "") -> OpenApiParameter:
    """An integer id in the path (declared as such; any other value gets a JSON 404)."""
    return OpenApiParameter(name, int, OpenApiParameter.PATH, description=description)


def next_link(request: Request, page: KeysetPage) -> str | None:
    if page.next_cursor is None:
        return None
    return replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)


def batch_items(data, *, key: str, noun: str, limit: int) -> tuple[list, bool] | Response:
    """The items of an ingest body and whether it was a batch: ``{"<key>": [...]}`` (a batch) or one ``<noun>``
    object. Anything else, an empty batch or one over ``limit`` items: a 400 naming the field (nothing recorded)."""
    if isinstance(data, dict) and key in data:
        items = data[key]
        if not isinstance(items, list):
            return Response({key: [f"must be a list of {key}"]}, status=status.HTTP_400_BAD_REQUEST)
        if not items:
            return Response({key: [f"must contain at least one {noun}"]}, status=status.HTTP_400_BAD_REQUEST)
        if len(items) > limit:
            return Response({key: [f"at most {limit} {key} per batch, got {len(items)}"]},
                            status=status.HTTP_400_BAD_REQUEST)
        return items, True
    if isinstance(data, dict):
        return [data], False
    return Response({"non_field_errors": [f'expected one {noun} object or {{"{key}": [...]}}']},
                    status=status.HTTP_400_BAD_REQUEST)


def batch_status(*, batch: bool, first: str) -> int:
    """A batch answers 200 (one result per item); a single item 201 created, 200 duplicate, 400 rejected."""
    if batch:
        return status.HTTP_200_OK
    return {"created": status.HTTP_201_CREATED, "duplicate": status.HTTP_200_OK}.get(first, status.HTTP_400_BAD_REQUEST)


class SignedIntConverter:
    """An integer path segment, negative ones included, so a nonsense id reaches the view and gets a JSON 404."""

    regex = r"-?[0-9]{1,30}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


@extend_schema(exclude=True)
class NotFoundApi(APIView):
    """Unknown paths under /api/v1/: 401 without credentials, else a JSON 404 (never Django's HTML page)."""

    def _not_found(self, request, *args, **kwargs):
        raise Http404("No such endpoint.")

    get = post = put = patch = delete = head = options = _not_found
