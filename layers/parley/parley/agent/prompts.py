"""The delimited blocks a turn adds to the system prompt (sources, memories) and the follow-ups prompt.

One module owns both their wording and how to read them back, so the scripted provider (which answers
from these blocks, as a model would) can never drift from what the pipeline writes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SOURCES_INSTRUCTION = (
    "Answer from the sources below when they are relevant. Cite the id of every source you use in "
    "square brackets right after what it supports, like [chunk_id]. If the sources do not hold the "
    "answer, say so rather than guessing."
)
MEMORIES_INSTRUCTION = (
    "What you remember about this user from earlier conversations. Use it when it helps to answer; "
    "do not bring it up otherwise."
)
FOLLOW_UPS_INSTRUCTION = (
    "Suggest {count} short follow-up questions the user might ask next, given the conversation below. "
    "Each question is at most 15 words and is written in the user's voice and language. Answer with JSON "
    'only, exactly in this shape: {{"questions": ["…"]}}'
)

_SOURCE = re.compile(r'<source id="([^"]+)"[^>]*>\n(.*?)\n</source>', re.DOTALL)
_MEMORIES = re.compile(r"<memories>\n.*?\n(.*?)\n</memories>", re.DOTALL)
_COUNT = re.compile(r"\bSuggest (\d+) short follow-up questions\b")


@dataclass(frozen=True)
class QuotedSource:
    chunk_id: str
    content: str


def sources_block(passages: Iterable[Any]) -> str:
    """The passages (anything with chunk_id, filename, page, content), each tagged with its id."""
    parts = [f"<sources>\n{SOURCES_INSTRUCTION}"]
    for passage in passages:
        where = f' filename="{_attribute(passage.filename)}"' if passage.filename else ""
        if passage.page:
            where += f' page="{passage.page}"'
        # A passage cannot close its own tag early: the model sees exactly one source per tag.
        content = passage.content.replace("</source>", "</ source>")
        parts.append(f'<source id="{_attribute(passage.chunk_id)}"{where}>\n{content}\n</source>')
    parts.append("</sources>")
    return "\n".join(parts)


def memories_block(memories: Iterable[Mapping[str, Any]]) -> str:
    lines = [f"- {' '.join(str(m['memory']).split())}" for m in memories]
    return "<memories>\n" + MEMORIES_INSTRUCTION + "\n" + "\n".join(lines) + "\n</memories>"


def follow_ups_instruction(count: int) -> str:
    return FOLLOW_UPS_INSTRUCTION.format(count=count)


# -- reading them back (the scripted provider) ---------------------------------------------------------
def quoted_sources(system: str) -> list[QuotedSource]:
    if "<sources>" not in system:
        return []
    return [QuotedSource(html.unescape(cid), content) for cid, content in _SOURCE.findall(system)]


def quoted_memories(system: str) -> list[str]:
    found = _MEMORIES.search(system)
    if not found:
        return []
    return [line[2:] for line in found.group(1).splitlines() if line.startswith("- ")]


def requested_count(instruction: str, default: int) -> int:
    found = _COUNT.search(instruction)
    return int(found.group(1)) if found else default


def system_text(messages: Sequence[Any]) -> str:
    return "\n\n".join(m.content for m in messages if m.role == "system")


def _attribute(value: Any) -> str:
    return html.escape(str(value), quote=True)
