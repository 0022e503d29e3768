"""Provider request models: what the API accepts before anything is stored."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from parley.models.providers import CreateProvider, ErrorKind, ScriptedOptions, check_base_url
from parley.providers.base import ERROR_KINDS


def test_the_models_error_kinds_are_the_providers_error_kinds():
    assert get_args(ErrorKind) == ERROR_KINDS


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("http://127.0.0.1:11434/v1/", "http://127.0.0.1:11434/v1"),
        (" https://api.openai.com/v1 ", "https://api.openai.com/v1"),
        (
            "https://example.com/openai?api-version=2024-10-21",
            "https://example.com/openai?api-version=2024-10-21",
        ),
    ],
)
def test_a_base_url_is_normalised(given, kept):
    assert check_base_url(given) == kept


@pytest.mark.parametrize(
    "url",
    [
        "localhost:11434",
        "ftp://example.com",
        "https://key:secret@example.com/v1",
        "http://h:99999/v1",
        "http://h/#x",
    ],
)
def test_a_base_url_that_is_not_a_plain_http_url_is_refused(url):
    with pytest.raises(ValueError, match=r"must|port"):
        check_base_url(url)


def test_the_api_key_is_hidden_in_the_models_repr():
    body = CreateProvider.model_validate({"name": "p", "kind": "openai", "api_key": "sk-very-secret"})
    assert "sk-very-secret" not in repr(body)
    assert body.api_key is not None and body.api_key.get_secret_value() == "sk-very-secret"


def test_a_script_rule_is_checked():
    with pytest.raises(ValidationError):
        ScriptedOptions.model_validate({"script": [{"match": "x", "delay_ms": 30_001}]})
    with pytest.raises(ValidationError):
        ScriptedOptions.model_validate({"script": [{"tool_calls": [{"name": "has spaces"}]}]})
    rule = ScriptedOptions.model_validate({"script": [{"match": "hi", "reply": "hello"}]}).script[0]
    assert (rule.match, rule.reply, rule.delay_ms) == ("hi", "hello", 0)
