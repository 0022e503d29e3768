"""The tokenizer shared by indexing and queries: words, case, stop words and a light stemmer."""

from __future__ import annotations

import pytest

from parley.knowledge.text import MAX_TERM_CHARS, stem, tokens


@pytest.mark.parametrize(
    "forms",
    [
        ["index", "indexes", "indexing", "indexed", "Indexes"],
        ["policy", "policies"],
        ["apply", "applies", "applied"],
        ["ship", "ships", "shipped", "shipping"],
        ["store", "stores", "stored", "storing"],
        ["call", "calls", "called", "calling"],
        ["match", "matches", "matched"],
    ],
)
def test_inflected_forms_meet_in_one_term(forms: list[str]) -> None:
    assert len({term for form in forms for term in tokens(form)}) == 1


def test_words_are_case_folded_and_split_on_punctuation_and_underscores() -> None:
    assert tokens("Quick_BROWN fox—jumps! v2.1") == ["quick", "brown", "fox", "jump", "v2", "1"]


def test_stop_words_and_single_letters_are_dropped_but_single_digits_kept() -> None:
    assert tokens("What is the refund for a 5 day delay?") == ["refund", "5", "day", "delay"]


def test_text_of_only_stop_words_has_no_terms() -> None:
    assert tokens("it is what it is, and that's that") == []


def test_unicode_words_are_normalised_and_kept_whole() -> None:
    # NFKC turns the "ﬁ" ligature into "fi", so the word meets its plain spelling
    assert tokens("Café ﬁle Ünïcode") == ["café", *tokens("file"), "ünïcode"]


def test_an_overlong_word_is_not_a_term() -> None:
    assert tokens("x" * (MAX_TERM_CHARS + 1) + " short") == ["short"]


@pytest.mark.parametrize("word", ["bus", "analysis", "status", "class", "red", "need", "v2", "café"])
def test_the_stemmer_leaves_words_it_has_no_rule_for(word: str) -> None:
    assert stem(word) == word
