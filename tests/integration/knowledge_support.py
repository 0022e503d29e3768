"""Knowledge in-process: inboxes and uploaded files written through the services, chunks built from text."""

from __future__ import annotations

from typing import Any

from parley import ids
from parley.knowledge import Chunk
from parley.services import files as file_service
from parley.store import inboxes as inbox_store


def new_inbox(workspace_id: str) -> str:
    inbox_id = ids.new_id("inbox")
    inbox_store.create(workspace_id, {"id": inbox_id, "created_at": "2025-01-01T00:00:00Z"})
    return inbox_id


def new_file(workspace_id: str, inbox_id: str, name: str, text: str = "") -> dict[str, Any]:
    """An uploaded file (record and bytes in moto) of the inbox."""
    data = (text or name).encode()
    return file_service.store_bytes(workspace_id, inbox_id, name, file_service.guess_content_type(name), data)


def chunks_of(file_id: str, paragraphs: list[str]) -> list[Chunk]:
    """One chunk per paragraph, with offsets as if they were joined by blank lines."""
    chunks, offset = [], 0
    for position, paragraph in enumerate(paragraphs):
        chunks.append(
            Chunk(
                file_id=file_id,
                position=position,
                content=paragraph,
                display_text=paragraph[:200],
                start=offset,
                end=offset + len(paragraph),
            )
        )
        offset += len(paragraph) + 2
    return chunks
