"""The exceptions the client raises: one class per way a call can fail, each with a one-line message."""

from __future__ import annotations

from scanhive.client.models import BatchStatus, ScanReport


class ScanHiveError(Exception):
    """Base class of every client error."""


class ApiError(ScanHiveError):
    """The server answered with an error status; `message` is its error text."""

    def __init__(self, status: int, message: str, summary: str | None = None) -> None:
        super().__init__(summary or (f"{message} (HTTP {status})" if message else f"HTTP {status}"))
        self.status = status
        self.message = message


class NotFound(ApiError):
    """The data_id, hash or sanitized file is unknown to the server."""

    def __init__(self, what: str, status: int = 404) -> None:
        super().__init__(status, f"{what} not found", f"{what} not found")


class AuthError(ApiError):
    """401 or 403: the apikey is missing, invalid or not allowed to do this."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message, f"authentication failed ({status}): {message or 'access denied'}")


class ServerBusy(ApiError):
    """503 still answered after every retry."""

    def __init__(self, message: str, retries: int) -> None:
        super().__init__(503, message, f"server busy (503), retried {_times(retries)}")
        self.retries = retries


class RateLimited(ApiError):
    """429 still answered after every retry; `retry_after` is the server's last hint in seconds."""

    def __init__(self, message: str, retries: int, retry_after: float | None) -> None:
        hint = f"; the server asks to wait {retry_after:g} s" if retry_after is not None else ""
        super().__init__(429, message, f"rate limited (429), retried {_times(retries)}{hint}")
        self.retries = retries
        self.retry_after = retry_after


class ConnectionFailed(ScanHiveError):
    """The server could not be reached, or the connection broke mid-request."""


class ScanTimeout(ScanHiveError):
    """The analysis (or batch) did not finish in time; `last` is the last answer seen."""

    def __init__(self, what: str, timeout: float, last: ScanReport | BatchStatus) -> None:
        super().__init__(f"no final result for {what} after {timeout:g} s")
        self.last = last


def _times(count: int) -> str:
    """`1 time`, `3 times`."""
    return f"{count} time" if count == 1 else f"{count} times"


#: Errors that concern the server or the connection rather than one file: a CLI run stops on them.
FATAL = (AuthError, ServerBusy, RateLimited, ConnectionFailed)
