from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import Page
from parley.models.memories import Memory, MemoryListQuery
from parley.services import memories

app = api()


@app.get("/v1/memories")
def list_memories(query: MemoryListQuery) -> Page[Memory]:
    """Most recently updated first (``sort_order=asc`` for the reverse); ``user_id`` for one user's."""
    return memories.list_memories(app.principal, query)


handler = lambda_handler(app)
