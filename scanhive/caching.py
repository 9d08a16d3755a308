"""Per-process reuse of values that are costly to read and change rarely."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Expiring(Generic[T]):
    """`load()`'s value, reused for up to `max_age` seconds while `marker()` gives the same answer."""

    def __init__(self, load: Callable[[], T], max_age: float, marker: Callable[[], Hashable] | None = None) -> None:
        self._load = load
        self._max_age = max_age
        self._marker = marker
        self._entry: tuple[Hashable, float, T] | None = None  # (marker, monotonic time, value)

    def get(self) -> T:
        # The marker is read before loading: a change that lands in between moves the marker
        # again, so the next call reloads instead of keeping what was read before the change.
        marker = self._marker() if self._marker is not None else None
        now = time.monotonic()
        entry = self._entry
        if entry is None or entry[0] != marker or now - entry[1] >= self._max_age:
            entry = self._entry = (marker, now, self._load())
        return entry[2]
