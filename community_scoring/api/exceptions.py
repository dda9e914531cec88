"""One error shape for the API: 4xx with the offending fields named; unexpected errors logged, never leaked.

- validation: 400 `{"<field>": ["message", ...]}` (DRF's shape; Django ValidationErrors, rejected actions and
  bodies the parser refuses, as `non_field_errors`, are mapped onto it);
- everything else: `{"detail": "message"}` with 401/403/404/405/406/415/429.
"""
import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from community_scoring.services.errors import ActionRejected

logger = logging.getLogger(__name__)


def _as_drf(exc):
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


def api_exception_handler(exc, context):
    return exception_handler(_as_drf(exc), context)
