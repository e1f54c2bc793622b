"""Domain and service errors. Each docstring is the default message.

Adapters map these to their own shape (problem+json, a CLI line); nothing here knows HTTP.
"""

from __future__ import annotations


class TaskTrackError(Exception):
    """Something went wrong in tasktrack."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0])


class InvalidArgument(TaskTrackError):
    """An argument is malformed."""


class MissingArgument(InvalidArgument):
    """A required argument is missing."""


class BodyTooLarge(TaskTrackError):
    """The request body is larger than the server accepts."""


class InvalidTransition(TaskTrackError):
    """The task's status does not allow this change."""


class Conflict(TaskTrackError):
    """The request conflicts with the task's current state."""


class NotFound(TaskTrackError):
    """No such resource."""


class Unauthenticated(TaskTrackError):
    """No valid credentials were given."""


class TooManyAttempts(TaskTrackError):
    """Too many failed authentication attempts; retry later."""

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(
            message or f"too many failed authentication attempts; retry in {retry_after} s"
        )
        #: Whole seconds until the caller may try again (``Retry-After``).
        self.retry_after = retry_after


class Overloaded(TaskTrackError):
    """Too many credential checks are waiting; retry in a second."""


class Forbidden(TaskTrackError):
    """The caller may not do this."""


class UnknownTaskType(InvalidArgument):
    """No task type of that name is registered."""


class StorageError(TaskTrackError):
    """The store failed."""


class DatabaseBusy(StorageError):
    """Another process held the database's write lock past the busy timeout; nothing was
    written (the API answers 503 with Retry-After)."""


class SchemaTooNew(StorageError):
    """The database schema is newer than this version of tasktrack knows."""


class LeaseLost(TaskTrackError):
    """This claim is no longer the task's current attempt; its writes are refused."""
