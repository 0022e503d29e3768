"""Suggested follow-up questions: one more provider call after the reply (purpose "follow_ups").

The model is asked for JSON ``{"questions": [...]}``; the answer is read tolerantly (code fences, prose
around the JSON, a bare list, or one question a line) and capped at the agent's count. A failure only
means no suggestions: it is recorded on the ``follow_ups`` step and the turn completes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from parley.agent.prompts import follow_ups_instruction
from parley.agent.steps import Timer, error_detail, timed
from parley.observability import logger
from parley.providers.base import ChatMessage, ChatRequest, Provider, Usage

MAX_FOLLOW_UPS = 5
# The end of the conversation the questions follow from: enough context, a bounded prompt.
CONTEXT_MESSAGES = 6
MESSAGE_CHARS = 2000
QUESTION_CHARS = 300

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")


def count_for(agent: dict[str, Any]) -> int:
    try:
        return min(max(int(agent.get("follow_ups") or 0), 0), MAX_FOLLOW_UPS)
    except (TypeError, ValueError):
        return 0


def suggest(
    provider: Provider,
    agent: dict[str, Any],
    history: list[dict[str, Any]],
    reply: str,
    count: int,
    steps: list[dict[str, Any]],
) -> tuple[list[str], Usage]:
    """Up to ``count`` questions the user might ask next, and the call's usage."""
    timer = Timer()
    name = f"{agent.get('provider_kind', 'model')}:{agent['model']}"
    try:
        result = provider.complete(
            ChatRequest(
                model=agent["model"],
                messages=_prompt(history, reply, count),
                temperature=agent.get("temperature"),
                max_tokens=400,
                extra=agent.get("other_model_params") or {},
                purpose="follow_ups",
            )
        )
    except Exception as exc:
        logger.warning("follow-up questions failed; the turn completes without them", exc_info=True)
        steps.append(timed("follow_ups", name, timer, {"count": 0, "error": error_detail(exc)}))
        return [], Usage()
    questions = parse(result.content, count)
    detail: dict[str, Any] = {
        "count": len(questions),
        "input_tokens": result.usage.input_tokens,
        "output_tokens": result.usage.output_tokens,
    }
    if not questions:
        detail["error"] = {"type": "bad_response", "message": "The model's answer held no questions."}
    steps.append(timed("follow_ups", name, timer, detail))
    return questions, result.usage


def _prompt(history: list[dict[str, Any]], reply: str, count: int) -> list[ChatMessage]:
    said = [m for m in history if m.get("role") in ("user", "assistant")][-(CONTEXT_MESSAGES - 1) :]
    messages = [ChatMessage(role="system", content=follow_ups_instruction(count))]
    for message in said:
        content = str(message.get("content") or "")[:MESSAGE_CHARS]
        messages.append(
            ChatMessage(role="assistant" if message["role"] == "assistant" else "user", content=content)
        )
    messages.append(ChatMessage(role="assistant", content=reply[:MESSAGE_CHARS]))
    # Ending on the user's side: some models read a trailing assistant message as a reply to continue.
    messages.append(ChatMessage(role="user", content=f"Suggest {count} follow-up questions as JSON."))
    return messages


def parse(text: str, count: int) -> list[str]:
    """The questions in a model's answer, cleaned, without duplicates, at most ``count``."""
    found = _from_json(text)
    if found is None:
        found = [_BULLET.sub("", line) for line in text.splitlines() if line.strip().endswith("?")]
    questions: list[str] = []
    seen: set[str] = set()
    for item in found:
        if not isinstance(item, str):
            continue
        question = " ".join(item.split()).strip().strip('"').strip()[:QUESTION_CHARS]
        if question and question.casefold() not in seen:
            seen.add(question.casefold())
            questions.append(question)
    return questions[:count]


def _from_json(text: str) -> list[Any] | None:
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1)] if fenced else []
    candidates.append(text)
    for candidate in candidates:
        for opening, closing in (("{", "}"), ("[", "]")):
            start, end = candidate.find(opening), candidate.rfind(closing)
            if start == -1 or end <= start:
                continue
            try:
                value = json.loads(candidate[start : end + 1])
            except ValueError:
                continue
            if isinstance(value, dict):
                value = next((value[k] for k in ("questions", "follow_ups", "followUps") if k in value), None)
            if isinstance(value, list):
                return value
    return None
