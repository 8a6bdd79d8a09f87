"""Application errors: raised by services, turned into messages by views."""

from __future__ import annotations


class ApplicationError(Exception):
    """A rule of the domain refused the request; ``message`` is safe to show to a user."""

    def __init__(self, message: str, *, code: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class NotFound(ApplicationError):
    def __init__(self, message: str, *, code: str = "not_found") -> None:
        super().__init__(message, code=code)
