"""The request body limit: a body larger than REQUEST_BODY_MAX_BYTES is refused with 413 before anything reads it.

Checked on the declared Content-Length, so a 10 MB post costs nothing but its headers; Django's own
DATA_UPLOAD_MAX_MEMORY_SIZE (set to the same figure) stops a body that reaches the parser some other way, and the
API's exception handler answers that with 413 too. Per-event limits (text length, attributes, depth, numbers) are
the door's (services.events) and reject only their event. `body_limit_documented` puts the 413 in the OpenAPI schema
of every operation that takes a body.
"""
from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse


def body_limit_response(limit: int, size: int | None = None) -> JsonResponse:
    said = f"{size} bytes" if size is not None else "too large"
    return JsonResponse(
        {"detail": f"Request body is {said}; the limit is {limit} bytes. Send large batches in smaller requests."},
        status=413,
    )


def body_limit_documented(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: every operation with a request body documents the 413 (an Error body)."""
    error = {"$ref": "#/components/schemas/Error"}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("413", {
                    "content": {"application/json": {"schema": error}},
                    "description": "The request body is over REQUEST_BODY_MAX_BYTES: refused unread, nothing recorded.",
                })
    return result


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.REQUEST_BODY_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(declared)
        except ValueError:
            return JsonResponse({"detail": "Content-Length must be a whole number of bytes."}, status=400)
        if limit and size > limit:
            return body_limit_response(limit, size)
        return self.get_response(request)
