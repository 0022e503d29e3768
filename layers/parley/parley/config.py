"""Settings, read once per cold start from the environment the template sets (Globals).

Nothing else in Parley reads os.environ: a missing variable fails the first request loudly here,
not somewhere deep in a service.
"""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    table: str = Field(validation_alias="PARLEY_TABLE")
    bucket: str = Field(validation_alias="PARLEY_BUCKET")
    turns_queue_url: str = Field(validation_alias="PARLEY_TURNS_QUEUE_URL")
    event_bus: str = Field(validation_alias="PARLEY_EVENT_BUS")
    purge_queue_url: str = Field(validation_alias="PARLEY_PURGE_QUEUE_URL")
    # Provider API keys live in Secrets Manager under this prefix (the functions' policies are scoped to it).
    secrets_prefix: str = Field(validation_alias="PARLEY_SECRETS_PREFIX")
    webhook_secrets_prefix: str = Field(validation_alias="PARLEY_WEBHOOK_SECRETS_PREFIX")
    webhook_deliveries_queue_url: str = Field(validation_alias="PARLEY_WEBHOOK_DELIVERIES_QUEUE_URL")
    # A failed delivery is retried after base * 2^(attempt-1) seconds (tests and the devstack shorten it).
    webhook_backoff_base_seconds: float = Field(5, ge=0, validation_alias="PARLEY_WEBHOOK_BACKOFF_SECONDS")
    # "scripted": setup gives the first workspace an offline provider and default agent (the devstack's way).
    starter_agent: str = Field("none", validation_alias="PARLEY_STARTER_AGENT")
    service: str = Field("parley", validation_alias="POWERTOOLS_SERVICE_NAME")
    log_level: str = Field("INFO", validation_alias="POWERTOOLS_LOG_LEVEL")
    region: str = Field("us-east-1", validation_alias="AWS_REGION")
    # Request bodies above this are refused with 413 (API Gateway's own limit is 10 MB).
    max_body_bytes: int = Field(1_048_576, validation_alias="PARLEY_MAX_BODY_BYTES")
    # Requests per workspace per minute, counted by the authorizers (parley.quota); 0 turns it off.
    workspace_requests_per_minute: int = Field(
        600, ge=0, validation_alias="PARLEY_WORKSPACE_REQUESTS_PER_MINUTE"
    )


@cache
def settings() -> Settings:
    return Settings.model_validate(os.environ)
