"""A file's extracted text cut into overlapping chunks, at paragraph or sentence boundaries where possible.

Each chunk is a window of about ``size`` characters that ends at the last paragraph break, line break,
sentence end or space in its second half (a hard cut only inside a very long word), and the next one
starts about ``overlap`` characters earlier, at a sentence or word start, so a passage cut by a chunk
boundary is still whole in one of the two. ``content`` is exactly ``text[start:end]``.

Bounded: a file yields at most ``MAX_CHUNKS`` chunks (about 5 MB of text); the rest of a longer text is
not indexed, and ``truncated`` tells the caller so.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from parley.knowledge import Chunk
from parley.knowledge.extract import PageSpan

CHUNK_SIZE = 1200
CHUNK_OVERLAP = 200
MAX_CHUNKS = 5000
DISPLAY_TEXT_CHARS = 200

# A sentence ends at . ! ? or an ellipsis, possibly followed by closing quotes or brackets, then space.
_SENTENCE_END = re.compile(r"[.!?\u2026][\"')\]\u00bb\u201d\u2019]*\s+")
_WHITESPACE = re.compile(r"\s+")


def chunk_text(
    file_id: str,
    text: str,
    *,
    pages: Sequence[PageSpan] | None = None,
    size: int = CHUNK_SIZE,
    overlap: int = CHUNK_OVERLAP,
    max_chunks: int = MAX_CHUNKS,
) -> list[Chunk]:
    """The chunks of ``text`` in order (at most ``max_chunks``)."""
    if size < 2 or not 0 <= overlap < size // 2:
        raise ValueError("size must be at least 2 and overlap less than half of it")
    chunks: list[Chunk] = []
    page_starts = [span.start for span in pages] if pages else []
    start = _skip_space(text, 0)
    while start < len(text) and len(chunks) < max_chunks:
        end = _chunk_end(text, start, size)
        content_end = _trim_end(text, start, end)
        content = text[start:content_end]
        chunks.append(
            Chunk(
                file_id=file_id,
                position=len(chunks),
                content=content,
                display_text=display_text(content),
                start=start,
                end=content_end,
                page=_page_at(pages, page_starts, start) if pages else None,
            )
        )
        if end >= len(text):
            break
        start = _next_start(text, start, end, overlap)
    return chunks


def truncated(text: str, chunks: Sequence[Chunk]) -> bool:
    """Whether some of ``text`` (other than whitespace) is in no chunk."""
    covered = chunks[-1].end if chunks else 0
    return bool(text[covered:].strip())


def display_text(content: str, limit: int = DISPLAY_TEXT_CHARS) -> str:
    """A one-line excerpt of at most ``limit`` characters, cut at a word with an ellipsis."""
    flat = _WHITESPACE.sub(" ", content).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def _chunk_end(text: str, start: int, size: int) -> int:
    """Where the chunk from ``start`` ends: the best boundary in the second half of its window."""
    limit = start + size
    if limit >= len(text):
        return len(text)
    floor = start + size // 2
    paragraph = text.rfind("\n\n", floor, limit)
    if paragraph != -1:
        return paragraph
    line = text.rfind("\n", floor, limit)
    if line != -1:
        return line
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(text, floor, limit)]
    if sentence_ends:
        return sentence_ends[-1]
    space = max(text.rfind(" ", floor, limit), text.rfind("\t", floor, limit))
    return space if space != -1 else limit


def _next_start(text: str, start: int, end: int, overlap: int) -> int:
    """Where the next chunk starts: ``overlap`` characters before ``end``, moved forward to the first
    sentence (else word) start, and always after ``start`` so the chunker makes progress."""
    if overlap == 0:
        return _skip_space(text, end)
    back = max(end - overlap, start + 1)
    sentence = _SENTENCE_END.search(text, back, end)
    if sentence and sentence.end() < end:
        candidate = sentence.end()
    else:
        paragraph = text.find("\n", back, end)
        space = _WHITESPACE.search(text, back, end)
        if paragraph != -1:
            candidate = paragraph
        elif space:
            candidate = space.end()
        else:
            candidate = back
    candidate = _skip_space(text, candidate)
    # The overlap must not swallow the whole chunk: whitespace runs up to its end would stall.
    return candidate if start < candidate < end else _skip_space(text, end)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _trim_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _page_at(pages: Sequence[PageSpan], page_starts: list[int], offset: int) -> int:
    index = max(bisect.bisect_right(page_starts, offset) - 1, 0)
    return pages[index].number
