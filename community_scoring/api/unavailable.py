"""503 with Retry-After while the database, the cache or the broker cannot be reached, instead of a 500.

During a PostgreSQL restart or a Redis outage every request that needs them fails; a client must be told to come
back, not that the server is broken. Nothing is half-done by such a failure: a batch's actions commit together or
not at all (its resend is then counted once, ingestion being idempotent), and a batch stored while the broker is down
waits in the scoring queue's table until a scorer takes it (services.interest_queue). A background job (a recompute,
an influence run, a calibration) whose task the broker refuses is not an outage of its request: the job is stored,
answered as queued, and published again by the periodic sweep (community_scoring.jobs). Other exceptions are left to
Django (500, logged).
"""
from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5

OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError, BrokerError,
)


def unavailable_response(request) -> HttpResponse:
    message = "A service this server depends on is unavailable for a moment; retry after the Retry-After delay."
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ServiceUnavailableMiddleware:
    """Answers 503 + Retry-After to a request that failed because a backing service is down (OUTAGE_ERRORS)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        """An outage raised by the view, where the database, cache and broker are used (Django turns any exception
        into a response before it would reach __call__, so this hook is the one place to catch it)."""
        if not isinstance(exception, OUTAGE_ERRORS):
            return None
        logger.warning("503 for %s %s: %s: %s", request.method, request.path, type(exception).__name__, exception)
        return unavailable_response(request)
