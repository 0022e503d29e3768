"""Tools an agent may call during a turn. Each is offered only where it applies (e.g. job tools in jobs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parley.providers.base import ToolSpec


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    run: Callable[[dict[str, Any], dict[str, Any]], str]  # (turn, arguments) -> result text for the model
    applies: Callable[[dict[str, Any], dict[str, Any]], bool]  # (conversation, agent settings) -> offered?


_REGISTRY: dict[str, Tool] = {}


def register(tool: Tool) -> None:
    _REGISTRY[tool.spec.name] = tool


def for_turn(conversation: dict[str, Any], agent: dict[str, Any]) -> dict[str, Tool]:
    if agent.get("use_tools") is False:
        return {}
    return {name: tool for name, tool in _REGISTRY.items() if tool.applies(conversation, agent)}
