from __future__ import annotations

from parley.compat import mielto_memories
from parley.compat.mielto_memories import MemoryListQuery, MemoryListResponse
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.get("/api/v1/memories")
def list_memories(query: MemoryListQuery) -> MemoryListResponse:
    return mielto_memories.list_memories(app.principal, query)


handler = lambda_handler(app)
