"""Pieces every API view shares: documented error responses and a keyset page response."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

from community_scoring.api.pagination import KeysetPage
from community_scoring.api.serializers import ErrorSerializer

ERROR_401 = OpenApiResponse(ErrorSerializer, description="No or invalid credentials.")
ERROR_403 = OpenApiResponse(ErrorSerializer, description="The caller's role may not do this.")
ERROR_404 = OpenApiResponse(ErrorSerializer, description="No such object.")
ERROR_429 = OpenApiResponse(ErrorSerializer, description="Too many requests for this token.")
ERROR_400 = OpenApiResponse(
    {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    description="Validation failed: each offending field mapped to its messages.",
)


def errors(*codes: int) -> dict:
    """Responses for the given extra codes plus 401/403/429, which every endpoint can return."""
    table = {400: ERROR_400, 404: ERROR_404}
    return {401: ERROR_401, 403: ERROR_403, 429: ERROR_429, **{c: table[c] for c in codes}}


CURSOR_PARAMETERS = [
    OpenApiParameter("cursor", str, description="Opaque cursor from a previous page's `next` link."),
    OpenApiParameter("page_size", int, description="Rows per page, 1-500 (default 50)."),
]


def next_link(request: Request, page: KeysetPage) -> str | None:
    if page.next_cursor is None:
        return None
    return replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
