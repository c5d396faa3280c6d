"""Errors the services raise; ``api.app`` turns them into the one JSON error shape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Conflict", "FieldProblem", "InputError", "NotFound", "ServiceError", "TooLarge"]


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input: ``path`` like ``file.rows[3].lat`` or ``body.caregiver_id``."""

    path: str
    message: str


class ServiceError(Exception):
    """Base of service errors; ``message`` is user-facing (Chinese / English)."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """The named thing does not exist (HTTP 404)."""

    status = 404
    code = "not_found"


class Conflict(ServiceError):
    """The request is valid but not allowed in the current state (HTTP 409)."""

    status = 409
    code = "conflict"


class Unavailable(ServiceError):
    """A service the request needs (a road-routing server) did not answer (HTTP 503)."""

    status = 503
    code = "unavailable"


class InputError(ServiceError):
    """The input is invalid; ``fields`` names every problem (HTTP 422)."""

    status = 422
    code = "invalid_input"

    def __init__(self, message: str, fields: Sequence[FieldProblem] = ()) -> None:
        super().__init__(message)
        self.fields = tuple(fields)


class TooLarge(InputError):
    """The input is larger than the service accepts (HTTP 413); ``path`` names it."""

    status = 413
    code = "payload_too_large"

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message, [FieldProblem(path, message)])
