"""Domain errors raised by services; the factory maps each to one HTTP status, once."""

from __future__ import annotations


class DomainError(Exception):
    """Base for errors a person can act on; the message is shown to them."""

    status_code = 400


class NotFound(DomainError):
    status_code = 404


class NotAllowed(DomainError):
    status_code = 403


class InvalidTransition(DomainError):
    status_code = 409


class ValidationFailed(DomainError):
    """Input that breaks a rule. `field` names the form field when there is one."""

    status_code = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
