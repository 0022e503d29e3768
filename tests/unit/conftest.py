"""Unit tests' shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parley.config import settings

# The settings every function's environment carries (the template's Globals), set to placeholders.
REQUIRED_SETTINGS = (
    "PARLEY_TABLE",
    "PARLEY_BUCKET",
    "PARLEY_TURNS_QUEUE_URL",
    "PARLEY_EVENT_BUS",
    "PARLEY_PURGE_QUEUE_URL",
    "PARLEY_SECRETS_PREFIX",
    "PARLEY_WEBHOOK_SECRETS_PREFIX",
    "PARLEY_WEBHOOK_DELIVERIES_QUEUE_URL",
)


@pytest.fixture
def unit_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Placeholder values for the required settings, read afresh; the monkeypatch, for more."""
    for name in REQUIRED_SETTINGS:
        monkeypatch.setenv(name, "unit")
    settings.cache_clear()
    yield monkeypatch
    settings.cache_clear()
