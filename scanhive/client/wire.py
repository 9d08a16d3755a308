"""MetaDefender wire details: dialect paths, request headers, error bodies and retry delays."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import quote

import httpx

from scanhive.client.errors import ApiError, AuthError, NotFound

Dialect = Literal["core", "cloud"]

CLOUD_PREFIX = "/v4"
#: Longest wait a Retry-After header may impose on one retry, in seconds.
MAX_RETRY_AFTER = 60.0
#: Cap of the exponential backoff between retries, in seconds.
MAX_BACKOFF = 10.0


def resolve(url: str, dialect: Dialect | None) -> tuple[str, Dialect]:
    """The base URL that API paths are appended to, and the dialect (cloud when the URL ends in /v4)."""
    url = url.rstrip("/")
    if dialect is None:
        dialect = "cloud" if url.endswith(CLOUD_PREFIX) else "core"
    if dialect == "cloud" and not url.endswith(CLOUD_PREFIX):
        url += CLOUD_PREFIX
    return url, dialect


def encode(value: str) -> str:
    """A header value as URL-encoded UTF-8, as MetaDefender expects for names, rules and passwords."""
    return quote(value, safe="")


def submit_headers(
    filename: str | None, rule: str | None, archive_passwords: Sequence[str], batch: str | None
) -> dict[str, str]:
    """The POST /file headers for these options (Content-Length is added by the caller)."""
    headers = {"content-type": "application/octet-stream"}
    if filename:
        headers["filename"] = encode(filename)
    if rule:
        headers["rule"] = encode(rule)
    if batch:
        headers["batch"] = batch
    if len(archive_passwords) == 1:
        headers["archivepwd"] = encode(archive_passwords[0])
    else:
        for number, password in enumerate(archive_passwords, start=1):
            headers[f"archivepwd{number}"] = encode(password)
    return headers


def is_not_found(body: Any) -> bool:
    """Whether a 200 answer is MetaDefender's `{"<id>": "Not Found"}`."""
    return isinstance(body, dict) and len(body) == 1 and next(iter(body.values())) == "Not Found"


def error_message(response: httpx.Response) -> str:
    """The error text of an answer: Core's {"err": ...}, Cloud's {"error": {"messages": [...]}} or the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict):
        if isinstance(body.get("err"), str):
            return body["err"]
        error = body.get("error")
        if isinstance(error, dict):
            return "; ".join(str(message) for message in error.get("messages", [])) or str(error.get("code", ""))
    return response.text.strip()[:200]


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON answer; anything else (an HTML page from a proxy, ...) is an ApiError."""
    try:
        return response.json()
    except ValueError:
        raise ApiError(response.status_code, f"the answer is not JSON: {response.text[:80]!r}") from None


def check(response: httpx.Response, what: str | None = None) -> None:
    """Raise the typed error of a 4xx/5xx answer; a 404 is NotFound when the request was about `what`."""
    status = response.status_code
    if status < 400:
        return
    if status in (401, 403):
        raise AuthError(status, error_message(response))
    if status == 404 and what:
        raise NotFound(what)
    raise ApiError(status, error_message(response))


def retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds, when it is a number."""
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


def retry_delay(response: httpx.Response, retry: int, backoff: float) -> float:
    """Seconds to wait before retry number `retry` (0-based): the server's hint, else jittered exponential."""
    hint = retry_after(response)
    if hint is not None:
        return min(hint, MAX_RETRY_AFTER)
    return min(backoff * 2**retry, MAX_BACKOFF) * random.uniform(0.5, 1.0)
