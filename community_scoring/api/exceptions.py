"""One error shape for the API: 4xx with the offending fields named; unexpected errors logged, never leaked.

- validation: 400 `{"<field>": ["message", ...]}` (DRF's shape; Django ValidationErrors, rejected actions and
  bodies the parser refuses, as `non_field_errors`, are mapped onto it);
- everything else: `{"detail": "message"}` with 401/403/404/405/406/413/415/429.
"""
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError as DjangoValidationError
from django.db import DataError
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from community_scoring.services.errors import ActionRejected

logger = logging.getLogger(__name__)


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "Request body too large."
    default_code = "payload_too_large"


def _as_drf(exc):
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(f"Request body too large; the limit is {settings.REQUEST_BODY_MAX_BYTES} bytes.")
    if isinstance(exc, exceptions.ParseError):  # DRF answers {"detail": ...}: not the documented 400 shape
        return exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [exc.detail]})
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(exc.message_dict)
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    if isinstance(exc, ActionRejected):
        return exceptions.ValidationError(exc.errors)
    if isinstance(exc, DataError):
        # e.g. a number out of the column's range that slipped past validation: the caller's input, not our fault.
        logger.warning("DataError turned into 400: %s", exc)
        return exceptions.ValidationError({"non_field_errors": ["a value is out of range or malformed"]})
    if isinstance(exc, ValueError) and "NUL" in str(exc):
        return exceptions.ValidationError({"non_field_errors": ["text must not contain NUL characters"]})
    return exc


def field_errors(detail, path: str = "") -> dict:
    """DRF's validation detail in the documented 400 shape, {"<field>": ["message", ...]}: nested serializers'
    fields dotted, list items as [i] (rule_sets[0].points); a bare message or list is `non_field_errors`."""
    if isinstance(detail, dict):
        flat: dict = {}
        for key, value in detail.items():
            name = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)
            for field, messages in field_errors(value, name).items():
                flat.setdefault(field, []).extend(messages)
        return flat
    items = detail if isinstance(detail, list) else [detail]
    flat = {}
    for i, item in enumerate(items):
        if isinstance(item, (dict, list)):  # a many=True serializer's errors: one entry per item, {} when valid
            for field, messages in field_errors(item, f"{path}[{i}]").items():
                flat.setdefault(field, []).extend(messages)
        else:
            flat.setdefault(path or api_settings.NON_FIELD_ERRORS_KEY, []).append(item)
    return flat


def api_exception_handler(exc, context):
    exc = _as_drf(exc)
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = field_errors(response.data)
    return response
