"""parley.config: settings from the environment, without pydantic (cold starts pay for none of it)."""

from __future__ import annotations

import pytest

from parley.config import Settings, SettingsError

REQUIRED = {
    "PARLEY_TABLE": "t",
    "PARLEY_BUCKET": "b",
    "PARLEY_TURNS_QUEUE_URL": "q",
    "PARLEY_EVENT_BUS": "e",
    "PARLEY_PURGE_QUEUE_URL": "p",
    "PARLEY_SECRETS_PREFIX": "s/",
    "PARLEY_WEBHOOK_SECRETS_PREFIX": "w/",
    "PARLEY_WEBHOOK_DELIVERIES_QUEUE_URL": "d",
}


def test_required_variables_and_defaults() -> None:
    settings = Settings.from_environment(REQUIRED)
    assert settings.table == "t"
    assert settings.webhook_deliveries_queue_url == "d"
    assert settings.max_body_bytes == 1_048_576
    assert settings.webhook_backoff_base_seconds == 5.0
    assert settings.region == "us-east-1"
    assert settings.starter_agent == "none"


def test_numbers_are_parsed_to_their_types() -> None:
    settings = Settings.from_environment(
        {**REQUIRED, "PARLEY_MAX_BODY_BYTES": "64", "PARLEY_WEBHOOK_BACKOFF_SECONDS": "0.5"}
    )
    assert settings.max_body_bytes == 64
    assert settings.webhook_backoff_base_seconds == 0.5


def test_a_missing_variable_names_every_missing_one() -> None:
    partial = {k: v for k, v in REQUIRED.items() if k not in {"PARLEY_TABLE", "PARLEY_BUCKET"}}
    with pytest.raises(SettingsError, match="PARLEY_TABLE, PARLEY_BUCKET"):
        Settings.from_environment(partial)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PARLEY_MAX_BODY_BYTES", "lots"),
        ("PARLEY_WEBHOOK_BACKOFF_SECONDS", "-1"),
        ("PARLEY_WORKSPACE_REQUESTS_PER_MINUTE", "-5"),
    ],
)
def test_malformed_or_out_of_range_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_environment({**REQUIRED, name: value})


def test_settings_are_frozen() -> None:
    settings = Settings.from_environment(REQUIRED)
    with pytest.raises(AttributeError):
        settings.table = "other"  # type: ignore[misc]
