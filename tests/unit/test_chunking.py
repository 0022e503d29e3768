"""Chunking: overlapping windows at natural boundaries, with offsets, pages and display texts; bounded."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from parley.knowledge.chunking import (
    CHUNK_SIZE,
    DISPLAY_TEXT_CHARS,
    MAX_CHUNKS,
    chunk_text,
    display_text,
    truncated,
)
from parley.knowledge.extract import PageSpan, extract
from tests.unit.pdf_support import text_pdf

WORDS = ["ledger", "invoice", "refund", "policy", "parley", "agent", "turn", "chunk", "index", "tenant"]


def prose(paragraphs: int, seed: int = 7) -> str:
    """Paragraphs of sentences of words: text with every kind of boundary."""
    rng = random.Random(seed)
    out = []
    for _ in range(paragraphs):
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 22))).capitalize() + "."
            for _ in range(rng.randint(2, 9))
        ]
        out.append(" ".join(sentences))
    return "\n\n".join(out)


def assert_well_formed(text: str, chunks: list) -> None:
    assert [c.position for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.content == text[chunk.start : chunk.end]
        assert chunk.content == chunk.content.strip()
        assert len(chunk.content) <= CHUNK_SIZE
    for earlier, later in itertools.pairwise(chunks):
        assert earlier.start < later.start
        assert later.start <= earlier.end  # overlapping (or adjacent): nothing between them is skipped


def test_a_short_text_is_one_chunk() -> None:
    chunks = chunk_text("file_1", "  A short note.\n")

    assert len(chunks) == 1
    assert (chunks[0].content, chunks[0].start, chunks[0].end) == ("A short note.", 2, 15)
    assert (chunks[0].file_id, chunks[0].position, chunks[0].page) == ("file_1", 0, None)
    assert chunks[0].display_text == "A short note."


def test_an_empty_text_has_no_chunks() -> None:
    assert chunk_text("file_1", " \n\n ") == []


def test_long_prose_is_cut_at_paragraph_or_sentence_ends_with_overlap() -> None:
    text = prose(40)

    chunks = chunk_text("file_1", text)

    assert len(chunks) > 5
    assert_well_formed(text, chunks)
    for chunk in chunks[:-1]:
        assert chunk.content.endswith(".")  # never in the middle of a sentence
        assert len(chunk.content) >= CHUNK_SIZE // 2 - 1
    for earlier, later in itertools.pairwise(chunks):
        overlap = earlier.end - later.start
        assert 0 < overlap <= 200
        assert later.content[0].isupper()  # the next chunk starts at a sentence start
    assert not truncated(text, chunks)


def test_a_paragraph_break_is_preferred_to_a_sentence_end() -> None:
    first = "Intro sentence one. " * 40  # 800 characters of sentences
    text = first.strip() + "\n\nSecond paragraph. " + "More words here. " * 40

    chunks = chunk_text("file_1", text)

    assert chunks[0].content == first.strip()


def test_text_without_boundaries_is_cut_at_spaces_or_hard_cut_inside_a_huge_word() -> None:
    spaced = " ".join(["word"] * 1000)
    unbroken = "x" * 3000

    by_space = chunk_text("f", spaced)
    by_length = chunk_text("f", unbroken)

    assert_well_formed(spaced, by_space)
    assert all(c.content.startswith("word") and c.content.endswith("word") for c in by_space)
    assert_well_formed(unbroken, by_length)
    assert [len(c.content) for c in by_length][:2] == [CHUNK_SIZE, CHUNK_SIZE]
    assert by_length[-1].end == len(unbroken)


def test_every_word_of_the_text_is_in_some_chunk() -> None:
    text = prose(25, seed=3)

    chunks = chunk_text("f", text, size=300, overlap=60)

    covered: set[int] = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_chunks_of_a_pdf_carry_the_page_they_start_on() -> None:
    pages = [[f"Page {n} sentence {i} about refunds." for i in range(60)] for n in range(1, 4)]
    extracted = extract(text_pdf(pages), "application/pdf", "book.pdf")

    chunks = chunk_text("f", extracted.text, pages=extracted.pages)

    assert extracted.pages is not None
    for chunk in chunks:
        page = next(p for p in extracted.pages if p.start <= chunk.start < p.end + 2)
        assert chunk.page == page.number
        assert chunk.content.startswith(f"Page {page.number} ")
    assert {c.page for c in chunks} == {1, 2, 3}


def test_pages_are_looked_up_by_offset() -> None:
    text = "a" * 50 + "\n\n" + "b" * 50
    spans = (PageSpan(2, 0, 50), PageSpan(5, 52, 102))

    chunks = chunk_text("f", text, pages=spans, size=40, overlap=0)

    assert [c.page for c in chunks] == [2 if c.start < 52 else 5 for c in chunks]
    assert {c.page for c in chunks} == {2, 5}


def test_the_number_of_chunks_is_capped_and_the_rest_reported_as_truncated() -> None:
    text = prose(30)

    chunks = chunk_text("f", text, size=100, overlap=20, max_chunks=10)

    assert len(chunks) == 10
    assert truncated(text, chunks)


def test_the_default_cap_is_five_thousand_chunks() -> None:
    text = "Sentence number forty two. " * 260_000  # about 7 MB of text

    chunks = chunk_text("f", text)

    assert len(chunks) == MAX_CHUNKS == 5000
    assert truncated(text, chunks)


def test_display_text_is_one_short_clean_line() -> None:
    long = "The   refund\npolicy says that " + "refunds take a week " * 30

    shown = display_text(long)

    assert len(shown) <= DISPLAY_TEXT_CHARS
    assert shown.startswith("The refund policy says that refunds")
    assert shown.endswith("…")
    assert "\n" not in shown and "  " not in shown
    assert not shown[:-1].endswith(" ")


def test_every_chunk_has_a_display_text_excerpt_of_its_content() -> None:
    text = prose(10)

    for chunk in chunk_text("f", text):
        assert 0 < len(chunk.display_text) <= DISPLAY_TEXT_CHARS
        assert " ".join(chunk.content.split()).startswith(chunk.display_text.rstrip("…"))


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", prose(5).encode()),
        ("text/markdown", ("# Title\n\n" + prose(5)).encode()),
        ("text/html", f"<h1>Title</h1><p>{prose(5)}</p>".encode()),
        ("application/json", json.dumps({"items": [{"text": prose(1, seed=i)} for i in range(8)]}).encode()),
        ("text/csv", ("id,text\n" + "".join(f'{i},"{prose(1, seed=i)}"\n' for i in range(8))).encode()),
        (
            "text/tab-separated-values",
            ("id\ttext\n" + "".join(f"{i}\trow {i}\n" for i in range(300))).encode(),
        ),
    ],
)
def test_every_text_format_chunks_into_well_formed_chunks(content_type: str, data: bytes) -> None:
    extracted = extract(data, content_type, "file")

    chunks = chunk_text("f", extracted.text)

    assert chunks
    assert_well_formed(extracted.text, chunks)
    assert not truncated(extracted.text, chunks)


def test_csv_rows_are_chunked_at_row_boundaries() -> None:
    data = "id,text\n" + "".join(f"{i},row number {i} of the table\n" for i in range(200))
    extracted = extract(data.encode(), "text/csv", "t.csv")

    chunks = chunk_text("f", extracted.text)

    for chunk in chunks:
        assert chunk.content.startswith("id: ")
        assert chunk.content.endswith("of the table")


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_text("f", "text", size=100, overlap=60)
