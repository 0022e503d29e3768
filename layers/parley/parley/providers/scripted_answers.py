"""What the scripted provider answers from the turn's context, deterministically, as a model would:

* a reply grounded in the prompt's ``<sources>`` (the sentences of the passage that best matches the
  question, by word overlap, citing its ``[chunk_id]``) or ``<memories>`` (the remembered fact that
  best matches, told back to the user: "The user's name is Ada." → "Your name is Ada.");
* follow-up questions built from the salient words of the last question and answer, as JSON.

The blocks are read with ``parley.agent.prompts``, the module that writes them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence

from parley.agent import prompts
from parley.providers.base import ChatMessage

DEFAULT_FOLLOW_UPS = 3
MAX_FOLLOW_UPS = 5
FOLLOW_UP_TEMPLATES = (
    "What else should I know about {topic}?",
    "How does {topic} work?",
    "Can you give an example of {topic}?",
    "Why does {topic} matter?",
    "What are common mistakes with {topic}?",
)
NOT_IN_SOURCES = "The sources I was given do not answer that."
_STOPWORDS = frozenset(
    """
    a about after all also am an and any are as at be been but by can could did do does for from had has
    have how i if in into is it its just me more my no not of on or our so than that the their them then
    there these they this to too up us was we were what when where which who why will with would you
    your yours please tell know should give like want need much many some very long often good best
    make made used using work works thing things here again still take takes took get gets got go goes come
    """.split()  # noqa: SIM905 - a word list reads best as words
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CITATION = re.compile(r"\[[^\]\s]+\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def grounded_reply(messages: Sequence[ChatMessage], said: str) -> str | None:
    """The answer from the prompt's memories or sources; None when the prompt carries neither."""
    system = prompts.system_text(messages)
    remembered = prompts.quoted_memories(system)
    sources = prompts.quoted_sources(system)
    if not remembered and not sources:
        return None
    asked = _terms(said)
    memory_at, memory_score = _best(asked, remembered)
    source_at, source_score = _best(asked, [s.content for s in sources])
    if memory_score and memory_score >= source_score:
        return _told_back(remembered[memory_at])
    if not source_score:
        return NOT_IN_SOURCES if sources else None
    source = sources[source_at]
    return f"{_best_sentences(asked, source.content)} [{source.chunk_id}]"


def follow_ups(messages: Sequence[ChatMessage]) -> str:
    """JSON ``{"questions": [...]}``: as many as the system prompt asks for, about the last exchange."""
    count = prompts.requested_count(prompts.system_text(messages), DEFAULT_FOLLOW_UPS)
    count = min(max(count, 1), MAX_FOLLOW_UPS)
    answer_at = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=len(messages))
    question = next((m.content for m in reversed(messages[:answer_at]) if m.role == "user"), "")
    answer = messages[answer_at].content if answer_at < len(messages) else ""
    topics = _salient(question, answer) or ["this"]
    questions = [
        template.format(topic=topics[i % len(topics)])
        for i, template in enumerate(FOLLOW_UP_TEMPLATES[:count])
    ]
    return json.dumps({"questions": questions})


def _words(text: str) -> list[str]:
    return [w.removesuffix("'s") for w in _WORD.findall(_CITATION.sub(" ", text.lower()))]


def _terms(text: str) -> set[str]:
    return {_stem(w) for w in _words(text) if w not in _STOPWORDS}


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _best(asked: set[str], texts: Sequence[str]) -> tuple[int, int]:
    """The position of the first text sharing the most words with the question, and how many it shares."""
    best_at, best_score = -1, 0
    for position, text in enumerate(texts):
        score = _overlap(asked, text)
        if score > best_score:
            best_at, best_score = position, score
    return best_at, best_score


def _overlap(asked: set[str], text: str) -> int:
    return len(asked & _terms(text))


def _best_sentences(asked: set[str], content: str) -> str:
    """The passage's one or two sentences that share the most words with the question, in their order."""
    sentences = [s.strip() for s in _SENTENCE.split(" ".join(content.split())) if s.strip()]
    ranked = sorted(range(len(sentences)), key=lambda i: (-_overlap(asked, sentences[i]), i))
    picked = [i for i in ranked[:2] if _overlap(asked, sentences[i])] or ranked[:1]
    return " ".join(sentences[i] for i in sorted(picked))


def _told_back(memory: str) -> str:
    """A remembered fact in the second person, when it is phrased about "the user"; else quoted."""
    fact = memory.strip()
    patterns = (
        (r"^(?:the )?user's\s+", "Your "),
        (r"^(?:the )?user is\s+", "You are "),
        (r"^(?:the )?user has\s+", "You have "),
        (r"^(?:the )?user was\s+", "You were "),
    )
    for pattern, replacement in patterns:
        told, changed = re.subn(pattern, replacement, fact, count=1, flags=re.IGNORECASE)
        if changed:
            return told
    verb = re.match(r"^(?:the )?user\s+(\w+)\s+", fact, flags=re.IGNORECASE)
    if verb:
        return f"You {_base_form(verb.group(1))} {fact[verb.end() :]}"
    return f"From what I remember: {fact}"


def _base_form(verb: str) -> str:
    if re.search(r"(?:ss|sh|ch|x|o)es$", verb):
        return verb[:-2]
    return verb[:-1] if verb.endswith("s") and not verb.endswith("ss") else verb


def _salient(question: str, answer: str) -> list[str]:
    """Topics of the exchange: the question's longest run of content words ("refund window"), then the
    content words of the question and answer, most frequent first (question words count double,
    ties in order of appearance)."""
    runs: list[list[str]] = [[]]
    counts: Counter[str] = Counter()
    order: dict[str, int] = {}
    for weight, text in ((2, question), (1, answer)):
        for word in _words(text):
            if len(word) > 3 and word not in _STOPWORDS and not word.isdigit():
                counts[word] += weight
                order.setdefault(word, len(order))
                if weight == 2:
                    runs[-1].append(word)
            elif weight == 2 and runs[-1]:
                runs.append([])
    phrase = max(runs, key=len)
    words = sorted(counts, key=lambda w: (-counts[w], order[w]))
    topics = [" ".join(phrase)] if len(phrase) > 1 else []
    return (topics + words)[:MAX_FOLLOW_UPS]
