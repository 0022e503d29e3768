"""The memory-extraction prompt: its wording, and how to read it back.

``parley.services.memories.remember`` writes it; the scripted provider (which extracts facts from it
deterministically, as a model would) reads it back. One module owns both sides so they cannot drift;
it imports nothing of Parley's, so both can import it without reaching up a floor.

The request is a system message (``EXTRACTION_INSTRUCTIONS``) and one user message holding a JSON
document ``{"known_memories": [{"id", "memory"}], "conversation": [{"role", "content"}]}``; the answer
is JSON ``{"memories": [{"id": "<known id to update> | null", "memory": "<fact>"}]}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EXTRACTION_INSTRUCTIONS = (
    "You maintain the long-term memory an assistant keeps about one user. The next message is JSON with "
    '"known_memories" (what is already remembered about the user, each with its id) and "conversation" '
    "(the latest exchange with the user). Extract the durable facts about the user that the conversation "
    "states: who they are, where they live and work, their preferences, circumstances, relationships and "
    "lasting plans — facts still true and useful in later conversations. Ignore small talk, questions, "
    "one-off requests, and what the assistant said unless the user confirmed it. Write each fact as one "
    'short sentence in the third person, starting with "The user" (for example "The user lives in '
    "Lisbon.\"). When a fact changes or refines a known memory, give that memory's id with the new text; "
    "otherwise give null. Never repeat a known memory unchanged. Answer with JSON only, exactly in this "
    'shape: {"memories": [{"id": null, "memory": "The user ..."}]}; with nothing to remember, answer '
    '{"memories": []}.'
)

_NOT_WORD = re.compile(r"[^\w\s]+")


@dataclass(frozen=True)
class ExtractionInput:
    known: list[dict[str, str]]  # [{"id", "memory"}]
    conversation: list[dict[str, str]]  # [{"role", "content"}]


def extraction_input(known: Iterable[Mapping[str, Any]], conversation: Iterable[Mapping[str, Any]]) -> str:
    """The user message of an extraction request."""
    document = {
        "known_memories": [{"id": str(m["id"]), "memory": str(m["memory"])} for m in known],
        "conversation": [{"role": str(m["role"]), "content": str(m["content"])} for m in conversation],
    }
    return json.dumps(document, ensure_ascii=False, indent=1)


def read_extraction_input(text: str) -> ExtractionInput | None:
    """The known memories and conversation of an extraction request's user message (None if it is not one)."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("conversation"), list):
        return None
    known = [
        {"id": str(item["id"]), "memory": str(item["memory"])}
        for item in document.get("known_memories") or []
        if isinstance(item, dict) and item.get("id") and item.get("memory")
    ]
    conversation = [
        {"role": str(item.get("role") or "user"), "content": str(item["content"])}
        for item in document["conversation"]
        if isinstance(item, dict) and isinstance(item.get("content"), str)
    ]
    return ExtractionInput(known=known, conversation=conversation)


def normalised(text: str) -> str:
    """A fact's identity for deduplication: case, whitespace and punctuation do not count."""
    return " ".join(_NOT_WORD.sub("", text.casefold()).split())
