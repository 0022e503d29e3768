"""parley.cache: per-container results with a time to live."""

from __future__ import annotations

import pytest

from parley import cache


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    return now


def counting() -> tuple[cache.TtlCached[[str], str], list[str]]:
    calls: list[str] = []

    @cache.ttl_cache(60, max_entries=2)
    def load(name: str) -> str:
        calls.append(name)
        return name.upper()

    return load, calls


def test_a_result_is_reused_until_its_time_to_live_passes(clock):
    load, calls = counting()
    assert load("a") == "A"
    clock[0] += 59
    assert load("a") == "A"
    assert calls == ["a"]
    clock[0] += 2
    assert load("a") == "A"
    assert calls == ["a", "a"]


def test_invalidate_forgets_one_entry_and_cache_clear_all(clock):
    load, calls = counting()
    load("a")
    load("b")
    load.invalidate("a")
    load("a")
    load("b")
    assert calls == ["a", "b", "a"]
    load.cache_clear()
    load("b")
    assert calls == ["a", "b", "a", "b"]


def test_the_oldest_entry_is_evicted_beyond_max_entries(clock):
    load, calls = counting()
    for name in ("a", "b", "c", "a"):
        load(name)
    assert calls == ["a", "b", "c", "a"]


def test_exceptions_are_not_cached(clock):
    attempts: list[int] = []

    @cache.ttl_cache(60)
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise LookupError("not yet")
        return 42

    with pytest.raises(LookupError):
        flaky()
    assert flaky() == 42
