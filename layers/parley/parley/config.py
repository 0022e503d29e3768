"""Settings, read once per cold start from the environment the template sets (Globals).

Nothing else in Parley reads os.environ: a missing or malformed variable fails the first request
loudly here, not somewhere deep in a service. A plain dataclass, not a pydantic model: the
authorizers and workers never import pydantic otherwise, and building a model class costs a cold
start tens of milliseconds (Issue 7's cold-start budget).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any


class SettingsError(ValueError):
    """The environment lacks a variable or holds one that cannot be parsed."""


def _env(name: str, default: Any = None, *, minimum: float | None = None) -> Any:
    """A field read from the environment variable ``name`` (required when it has no default)."""
    return field(default=default, metadata={"env": name, "minimum": minimum})


@dataclass(frozen=True)
class Settings:
    table: str = _env("PARLEY_TABLE")
    bucket: str = _env("PARLEY_BUCKET")
    turns_queue_url: str = _env("PARLEY_TURNS_QUEUE_URL")
    event_bus: str = _env("PARLEY_EVENT_BUS")
    # Every event on the bus, for rules of the deployment's own; otherwise only a workspace's that
    # has webhooks or callbacks (parley.services.events).
    publish_all_events: bool = _env("PARLEY_PUBLISH_ALL_EVENTS", False)
    purge_queue_url: str = _env("PARLEY_PURGE_QUEUE_URL")
    # Provider API keys live in Secrets Manager under this prefix (the functions' policies are scoped to it).
    secrets_prefix: str = _env("PARLEY_SECRETS_PREFIX")
    webhook_secrets_prefix: str = _env("PARLEY_WEBHOOK_SECRETS_PREFIX")
    webhook_deliveries_queue_url: str = _env("PARLEY_WEBHOOK_DELIVERIES_QUEUE_URL")
    # A failed delivery is retried after base * 2^(attempt-1) seconds (tests and the devstack shorten it).
    webhook_backoff_base_seconds: float = _env("PARLEY_WEBHOOK_BACKOFF_SECONDS", 5.0, minimum=0)
    # "scripted": setup gives the first workspace an offline provider and default agent (the devstack's way).
    starter_agent: str = _env("PARLEY_STARTER_AGENT", "none")
    service: str = _env("POWERTOOLS_SERVICE_NAME", "parley")
    log_level: str = _env("POWERTOOLS_LOG_LEVEL", "INFO")
    region: str = _env("AWS_REGION", "us-east-1")
    # Request bodies above this are refused with 413 (API Gateway's own limit is 10 MB).
    max_body_bytes: int = _env("PARLEY_MAX_BODY_BYTES", 1_048_576)
    # Requests per workspace per minute, counted by the authorizers (parley.quota); 0 turns it off.
    workspace_requests_per_minute: int = _env("PARLEY_WORKSPACE_REQUESTS_PER_MINUTE", 600, minimum=0)
    # HTTP and MCP tools may call private and loopback addresses only where the deployment allows it
    # (link-local and cloud metadata addresses are refused whatever this says).
    tools_allow_private_networks: bool = _env("PARLEY_TOOLS_ALLOW_PRIVATE_NETWORKS", False)
    # The WebSocket API: where clients connect (wss://…/<stage>), and its @connections endpoint
    # (https://…/<stage>) that workers post frames to. Empty: this deployment does not stream.
    stream_url: str = _env("PARLEY_STREAM_URL", "")
    stream_callback_url: str = _env("PARLEY_STREAM_CALLBACK_URL", "")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        values: dict[str, Any] = {}
        missing: list[str] = []
        for spec in fields(cls):
            name, minimum = spec.metadata["env"], spec.metadata["minimum"]
            raw = environ.get(name)
            if raw is None:
                if spec.default is None:
                    missing.append(name)
                continue
            kind = str if spec.default is None else type(spec.default)
            values[spec.name] = _parse(name, raw, kind, minimum)
        if missing:
            raise SettingsError(f"missing environment variables: {', '.join(missing)}")
        return cls(**values)


def _parse(name: str, raw: str, kind: type, minimum: float | None) -> Any:
    if kind is str:
        return raw
    if kind is bool:
        # bool("false") is True: spell the two values out.
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise SettingsError(f"{name}={raw!r} must be true or false")
        return lowered == "true"
    try:
        value = kind(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum}")
    return value


@cache
def settings() -> Settings:
    return Settings.from_environment(os.environ)
