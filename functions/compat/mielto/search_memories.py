from __future__ import annotations

from parley.compat import mielto_memories
from parley.compat.mielto_memories import MemorySearchRequest, MemorySearchResponse
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.post("/api/v1/memories/search", idempotent=False)
def search_memories(body: MemorySearchRequest) -> MemorySearchResponse:
    return mielto_memories.search_memories(app.principal, body)


handler = lambda_handler(app)
