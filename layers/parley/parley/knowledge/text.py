"""The terms of a text, as the lexical index stores them and a query looks them up.

One tokenizer for both sides, so a query term meets the indexed one: Unicode-normalised and
case-folded words (letters and digits; ``_`` and punctuation split), English stop words dropped, and a
light suffix stemmer so that "indexes", "indexing", "indexed" and "index" are one term. The stemmer is
deliberately small (plural, -ed, -ing, final -e): predictable, and good enough for BM25 recall.
"""

from __future__ import annotations

import re
import unicodedata

# A term is at most this long: longer "words" are hashes or base64 noise, and the term is part of a key.
MAX_TERM_CHARS = 64

_WORD = re.compile(r"[^\W_]+")
_VOWELS = frozenset("aeiouy")
_KEEP_DOUBLE = frozenset("lsz")  # "called" → "call", "passing" → "pass", but "shipped" → "ship"

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been before being
    below between both but by can cannot could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself yourselves s t d ll m re ve don isn wasn weren won wouldn shouldn
    couldn doesn didn hasn haven hadn
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def tokens(text: str) -> list[str]:
    """The index terms of ``text``, in order (repeats kept: BM25 counts them)."""
    normalised = unicodedata.normalize("NFKC", text).casefold()
    terms = []
    for word in _WORD.findall(normalised):
        if word in STOP_WORDS or len(word) > MAX_TERM_CHARS or (len(word) == 1 and not word.isdigit()):
            continue
        terms.append(stem(word))
    return terms


def stem(word: str) -> str:
    """A light English suffix stemmer (see the module docstring); other words pass unchanged."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    else:
        for suffix in ("ing", "ed"):
            stem_part = word[: -len(suffix)]
            if word.endswith(suffix) and len(stem_part) >= 3 and _VOWELS & set(stem_part):
                word = stem_part
                if word[-1] == word[-2] and word[-1] not in _VOWELS | _KEEP_DOUBLE:
                    word = word[:-1]
                break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word
