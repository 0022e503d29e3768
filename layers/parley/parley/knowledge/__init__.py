"""Knowledge: files made searchable (ingestion → chunks → index) and the passages a turn retrieves.

``Chunk`` is what ingestion produces from a file; ``Passage`` is what a retriever returns for a query
(a chunk with its file's name, type and a presigned link, and the retriever's score).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    file_id: str
    position: int  # 0-based order of the chunk in its file
    content: str  # the text indexed and given to the model
    display_text: str  # a short excerpt for people (a source snippet)
    start: int  # character offsets of the chunk in the file's extracted text
    end: int
    page: int | None = None  # 1-based page, for paged formats (PDF)


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    file_id: str
    content: str
    display_text: str
    filename: str
    filetype: str
    score: float
    position: int = 0
    page: int | None = None
    url: str | None = None  # a presigned download link of the file, when it is in S3
