"""One error type for services and one JSON error shape for the API.

Every error answer is `{"detail": str, "code": str, "fields"?: {name: [messages]}}`; an
unexpected exception becomes a logged 500 with a generic sentence, never a stack trace.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """A request the domain refuses; `detail` is shown to the user as is."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None, status_code: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code


class NotFound(ServiceError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


def _first_message(data) -> str:
    if isinstance(data, list) and data:
        return _first_message(data[0])
    if isinstance(data, dict) and data:
        key, value = next(iter(data.items()))
        message = _first_message(value)
        return message if key in ("detail", "non_field_errors") else f"{key}: {message}"
    return str(data)


def _is_nul_error(exc: DataError) -> bool:
    text = str(exc)
    return "NUL (0x00)" in text or "unsupported Unicode escape sequence" in text


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response({"detail": exc.detail, "code": exc.code}, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
        return Response(
            {"detail": f"The request body is larger than {limit:g} MB.", "code": "too_large"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent):
        return Response(
            {"detail": "The request has too many fields.", "code": "too_large"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DataError) and _is_nul_error(exc):
        # PostgreSQL refuses NUL in text and \u0000 in jsonb; a field's validator should have
        # said so first (DRF's CharField does), this is the net under JSON documents.
        return Response(
            {"detail": "Text may not contain NUL (0x00) characters.", "code": "invalid"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RecursionError):
        # Deeply nested input (JSON arrays in arrays...): bad input, not a server fault.
        logger.warning("Request nested too deeply in %s", context.get("view"))
        return Response(
            {"detail": "The request is nested too deeply to be read.", "code": "too_deep"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in %s", context.get("view"), exc_info=exc)
        return Response(
            {
                "detail": "Something went wrong on the server; the error has been logged.",
                "code": "server_error",
            },
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {
            "detail": _first_message(fields),
            "code": "invalid",
            "fields": fields,
        }
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"detail": str(detail), "code": code}
    return response


def not_found(request, exception=None):
    """404 outside DRF views (an unknown /api/ path) in the same JSON shape."""
    from django.http import JsonResponse

    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def server_error(request):
    from django.http import JsonResponse

    return JsonResponse(
        {
            "detail": "Something went wrong on the server; the error has been logged.",
            "code": "server_error",
        },
        status=500,
    )
