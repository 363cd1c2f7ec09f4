"""Errors the domain raises; the transport layer renders each as RFC 9457 problem+json.

As in Polar's `PolarError`: one base class carrying the HTTP status it maps to, subclasses
per kind of failure, and `field` (a pydantic-style location) when one input is at fault.
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: tuple[str | int, ...] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(DomainError):
    """The request is well-formed but a value breaks a rule (dates out of order, unknown term)."""

    status_code = 422
    title = "Invalid input"


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class Conflict(DomainError):
    """The request clashes with stored state (an idempotency key reused with another body)."""

    status_code = 409
    title = "Conflict"


class Forbidden(DomainError):
    status_code = 403
    title = "Forbidden"
