from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.memories import MemorySearchResults, SearchMemories
from parley.services import memories

app = api()


@app.post("/v1/memories/search", idempotent=False)
def search_memories(body: SearchMemories) -> MemorySearchResults:
    """Lexical (BM25) ranking over one user's memories, or the workspace's most recently updated."""
    return memories.search(app.principal, body)


handler = lambda_handler(app)
