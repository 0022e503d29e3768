"""LLM providers behind one protocol (``parley.providers.base``); ``build_provider`` picks one by kind.

Each kind's module is imported only when a provider of that kind is built: a function that never talks
to Bedrock never pays for its client, and one that never talks HTTP never imports http.client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    Provider,
    ProviderError,
    ToolCall,
    ToolSpec,
    Usage,
)

KINDS = ("openai", "bedrock", "scripted")

__all__ = [
    "KINDS",
    "ChatMessage",
    "ChatRequest",
    "ChatResult",
    "Provider",
    "ProviderError",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "build_provider",
]


def build_provider(record: Mapping[str, Any], secret: str | None) -> Provider:
    """The provider a stored record describes (``kind``, ``base_url``, ``options``), with its secret."""
    kind = record.get("kind")
    if kind == "openai":
        from parley.providers.openai import OpenAIProvider

        return OpenAIProvider.from_record(record, secret)
    if kind == "bedrock":
        from parley.providers.bedrock import BedrockProvider

        return BedrockProvider.from_record(record, secret)
    if kind == "scripted":
        from parley.providers.scripted import ScriptedProvider

        return ScriptedProvider.from_record(record, secret)
    raise ProviderError("configuration", f"Unknown provider kind {kind!r}.")
