"""The scripted provider's memory extraction (``purpose="memory"``): deterministic, rule-based.

It reads the extraction request that ``parley.services.memories.remember`` writes (known memories with
their ids, and the conversation; parley.memory_prompt) and answers what a model would, as JSON
``{"memories": [{"id": <known id> | null, "memory": "<fact>"}]}``. A request that is not in that shape
is read as a conversation of its own user messages, with no known memories.

Only the USER messages count. Each is cut into sentences (and "…, and I …" / "… and my …" clauses);
questions are skipped, and so are leading fillers ("Hi,", "Also,", "By the way,"). A sentence becomes a
fact when it states something durable in the first person:

* ``My <thing> is|are|is called|is named <value>`` ("My name is Ada.", "My dog is called Rex.");
* ``I live in …``, ``I work at|for|as|in …``, ``I'm from …``, ``I was born in|on …``, ``I'm <n> years old``;
* ``I [don't] prefer|like|love|enjoy|hate|dislike|speak|own|use|drive|play|study|teach|eat|drink …``
  (not "I like this/that/it/your …");
* ``I'm allergic|intolerant|vegetarian|vegan|married|single|retired … / I'm a|an …``;
* ``I have a|an|<number> …`` (not "I have a question/problem/…");
* anything after "Remember (that)", "Note that", "Keep in mind (that)" or "Don't forget (that)"; with
  no first-person word in it, it is kept as "The user asked to remember that …".

The fact is the sentence in the third person: "I" becomes "the user" with its verb in the third person
("I live in Lisbon" → "The user lives in Lisbon."), "my" becomes "the user's", "me" "the user".

Some subjects hold one value at a time: ``my <thing> is``, ``I live in``, ``I work at|for|as|in``,
``I'm from``, ``I was born in|on`` and an age. When a known memory states the same subject (its
normalised text starts with the new fact's subject, e.g. "The user's name is" or "The user lives
in"), the fact carries that memory's id, so it is updated rather than repeated; within one
conversation the last statement of a subject wins. A fact equal to a known memory (case, whitespace
and punctuation aside) is not returned at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from parley.memory_prompt import normalised, read_extraction_input
from parley.providers.base import ChatMessage

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# "… and I work at Acme", "…, and my dog …": a second statement in the same sentence.
_CLAUSE = re.compile(r",?\s+and\s+(?=(?:i|my|i'm)\b)|;\s+", re.IGNORECASE)
_FILLER = re.compile(
    r"^(?:(?:and|also|oh|well|so|hi|hello|hey|btw|by the way|actually|fyi|ok|okay|"
    r"sorry|no|wait|correction|in fact|just so you know|for the record)\b[\s,!.:-]*)+",
    re.IGNORECASE,
)
_REMEMBER = re.compile(
    r"^(?:please\s+)?(?:remember|note|keep in mind|don't forget)(?:\s+that)?[\s,:]+(?P<rest>.+)$",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'll|i'd|my|me|mine|myself)\b", re.IGNORECASE)
_NOT_A_THING = r"(?!(?:this|that|it|your|you|the answer|these|those)\b)"
_NOT_OWNED = r"(?!(?:question|problem|issue|idea|doubt|minute|moment|request|favou?r|quick|few)\b)"


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    # A single-valued subject: a known memory matching it (normalised) is updated, not repeated.
    # From the pattern's "subject" group (in the third person), or this fixed regex.
    fixed_subject: str | None = None


_RULES = (
    _Rule(
        re.compile(
            r"^(?P<subject>my [\w'\- ]{1,40}? (?:is called|is named|are called|are named|is|are))\s+\S.*$",
            re.IGNORECASE,
        )
    ),
    _Rule(re.compile(r"^(?P<subject>i (?:live|am living|'m living) in)\s+\S.*$", re.IGNORECASE)),
    _Rule(re.compile(r"^(?P<subject>i work (?:at|for|as|in))\s+\S.*$", re.IGNORECASE)),
    _Rule(re.compile(r"^(?P<subject>i(?: am|'m) from)\s+\S.*$", re.IGNORECASE)),
    _Rule(re.compile(r"^(?P<subject>i was born (?:in|on))\s+\S.*$", re.IGNORECASE)),
    _Rule(
        re.compile(r"^i(?: am|'m) \d{1,3} years old\b.*$", re.IGNORECASE),
        fixed_subject=r"^the user is \d+ years old\b",
    ),
    _Rule(
        re.compile(
            r"^i (?:don't |do not )?(?:prefer|like|love|enjoy|hate|dislike|speak|own|use|drive|play|study|"
            rf"teach|eat|drink)\s+{_NOT_A_THING}\S.*$",
            re.IGNORECASE,
        )
    ),
    _Rule(
        re.compile(
            r"^i(?: am|'m) (?:allergic|intolerant|vegetarian|vegan|married|single|divorced|retired|"
            r"left-handed|right-handed|an?\s)\S*.*$",
            re.IGNORECASE,
        )
    ),
    _Rule(
        re.compile(
            rf"^i (?:have|'ve got|have got) (?:an?|one|two|three|four|five|\d+) {_NOT_OWNED}\S.*$",
            re.IGNORECASE,
        )
    ),
)

_VERB_FORMS = {
    "am": "is",
    "'m": "is",
    "was": "was",
    "have": "has",
    "do": "does",
    "go": "goes",
    "don't": "doesn't",
    "didn't": "didn't",
    "can't": "can't",
    "won't": "won't",
    "will": "will",
    "would": "would",
    "can": "can",
    "could": "could",
    "should": "should",
    "must": "must",
    "might": "might",
    "may": "may",
    "did": "did",
    "had": "had",
    "grew": "grew",
    "went": "went",
    "got": "got",
    "made": "made",
    "met": "met",
    "left": "left",
    "became": "became",
    "bought": "bought",
}
_PRONOUNS = (
    (re.compile(r"\bi(?:'m| am)\b", re.IGNORECASE), "the user is"),
    (re.compile(r"\bi've\b", re.IGNORECASE), "the user has"),
    (re.compile(r"\bi'll\b", re.IGNORECASE), "the user will"),
    (re.compile(r"\bi'd\b", re.IGNORECASE), "the user would"),
    (re.compile(r"\bmyself\b", re.IGNORECASE), "themselves"),
    (re.compile(r"\b(?:my|mine)\b", re.IGNORECASE), "the user's"),
    (re.compile(r"\bme\b", re.IGNORECASE), "the user"),
)
_I_VERB = re.compile(r"\bi\s+([\w']+)", re.IGNORECASE)


@dataclass(frozen=True)
class _Fact:
    memory: str
    subject: str | None  # a regex over a known memory's normalised text


def extract(messages: Sequence[ChatMessage]) -> str:
    """The JSON answer to a ``purpose="memory"`` request."""
    said = next((m.content for m in reversed(messages) if m.role == "user"), "")
    request = read_extraction_input(said)
    if request is None:
        known: list[dict[str, str]] = []
        user_texts = [m.content for m in messages if m.role == "user"]
    else:
        known = request.known
        user_texts = [m["content"] for m in request.conversation if m["role"] == "user"]
    facts: dict[str, _Fact] = {}  # by subject (the last statement wins) or by text
    for text in user_texts:
        for sentence in _sentences(text):
            fact = _fact(sentence)
            if fact is not None:
                key = fact.subject or normalised(fact.memory)
                facts.pop(key, None)  # a restated subject moves to where it was last said
                facts[key] = fact
    known_texts = {normalised(memory["memory"]) for memory in known}
    answer = []
    for fact in facts.values():
        if normalised(fact.memory) in known_texts:
            continue
        target = (
            next((m["id"] for m in known if re.search(fact.subject, normalised(m["memory"]))), None)
            if fact.subject
            else None
        )
        answer.append({"id": target, "memory": fact.memory})
    return json.dumps({"memories": answer}, ensure_ascii=False)


def _sentences(text: str) -> list[str]:
    found = []
    for sentence in _SENTENCE_END.split(text.replace("\u2019", "'")):
        sentence = sentence.strip()
        if not sentence or sentence.endswith("?"):
            continue
        for clause in _CLAUSE.split(sentence):
            clause = _FILLER.sub("", clause.strip()).rstrip(".! ").strip()
            if clause:
                found.append(clause)
    return found


def _fact(sentence: str) -> _Fact | None:
    remembered = _REMEMBER.match(sentence)
    if remembered:
        sentence = remembered.group("rest").strip()
    for rule in _RULES:
        match = rule.pattern.match(sentence)
        if match is None:
            continue
        subject = rule.fixed_subject
        if "subject" in rule.pattern.groupindex:
            subject = "^" + re.escape(normalised(third_person(match.group("subject")))) + r"\b"
        return _Fact(_sentence_case(third_person(sentence)), subject)
    if not remembered:
        return None
    if _FIRST_PERSON.search(sentence):
        return _Fact(_sentence_case(third_person(sentence)), None)
    return _Fact(_sentence_case(f"the user asked to remember that {sentence}"), None)


def third_person(text: str) -> str:
    """First-person words as the user's: "I live in my flat" → "the user lives in the user's flat"."""
    for pattern, replacement in _PRONOUNS:
        text = pattern.sub(replacement, text)
    return _I_VERB.sub(lambda m: "the user " + _third_person_verb(m.group(1)), text)


def _third_person_verb(verb: str) -> str:
    lower = verb.lower()
    if lower in _VERB_FORMS:
        return _VERB_FORMS[lower]
    if lower.endswith("ed") or "'" in lower:
        return verb
    if re.search(r"(?:s|sh|ch|x|z|o)$", lower):
        return verb + "es"
    if re.search(r"[^aeiou]y$", lower):
        return verb[:-1] + "ies"
    return verb + "s"


def _sentence_case(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!")) else ".")
