"""A per-container cache with a short time to live, for configuration read on every turn.

Provider and agent records change rarely and are read by every turn a warm container runs; caching
them for a minute saves a DynamoDB (and Secrets Manager) round trip per turn, and a change is seen
everywhere within that minute. Writes in the same process invalidate their entries at once.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Hashable

# How long a warm container trusts its copy of a provider or agent record.
CONFIGURATION_SECONDS = 60


class TtlCached[**P, R]:
    """``fn`` with its results remembered for ``seconds`` (at most ``max_entries``, oldest evicted)."""

    # An instance attribute, not a method: tests' cold-start reset calls the cache_clear of every
    # cache it finds in a parley module, and must not find one on this class itself.
    cache_clear: Callable[[], None]

    def __init__(self, fn: Callable[P, R], seconds: float, max_entries: int) -> None:
        functools.update_wrapper(self, fn)
        self.cache_clear = self._clear
        self._fn = fn
        self._seconds = seconds
        self._max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, R]] = {}
        self._lock = threading.Lock()

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        key = _key(args, kwargs)
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = self._fn(*args, **kwargs)
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (now + self._seconds, value)
            while len(self._entries) > self._max_entries:
                del self._entries[next(iter(self._entries))]
        return value

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Forget the entry for these arguments (after a write in this process)."""
        with self._lock:
            self._entries.pop(_key(args, kwargs), None)

    def _clear(self) -> None:
        with self._lock:
            self._entries.clear()


def ttl_cache[**P, R](
    seconds: float, *, max_entries: int = 256
) -> Callable[[Callable[P, R]], TtlCached[P, R]]:
    def decorate(fn: Callable[P, R]) -> TtlCached[P, R]:
        return TtlCached(fn, seconds, max_entries)

    return decorate


def _key(args: tuple[object, ...], kwargs: dict[str, object]) -> Hashable:
    return (args, tuple(sorted(kwargs.items()))) if kwargs else args
