"""The steps breakdown of a turn: one record per stage (context, memory, rag, model, tool, follow_ups)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from parley import clock


@dataclass
class Timer:
    """When a stage started (for the record) and a monotonic clock (for its duration)."""

    started_at: str = field(default_factory=clock.iso)
    began: float = field(default_factory=time.perf_counter)

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.began) * 1000, 1)


def step(kind: str, name: str, started_at: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "name": name, "started_at": started_at, "ended_at": clock.iso(), "detail": detail}


def timed(kind: str, name: str, timer: Timer, detail: dict[str, Any]) -> dict[str, Any]:
    """A step whose detail also carries its duration_ms."""
    return step(kind, name, timer.started_at, {**detail, "duration_ms": timer.elapsed_ms()})


def error_detail(exc: BaseException, *, trusted: bool = False) -> dict[str, str]:
    """What a step says about a failure: the message of a ProviderError (already redacted) or of a
    ``trusted`` exception (one of ours), else only the type, so nothing a library put in an exception's
    text (a URL, a key) reaches the turn."""
    kind = getattr(exc, "kind", None)
    message = getattr(exc, "message", None) if kind else (str(exc) if trusted else None)
    return {"type": str(kind or type(exc).__name__), "message": str(message or type(exc).__name__)[:500]}
