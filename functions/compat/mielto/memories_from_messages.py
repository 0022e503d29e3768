from __future__ import annotations

from parley.compat import mielto_memories
from parley.compat.mielto_memories import MemoryFromMessagesRequest, MemoryFromMessagesResponse
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.post("/api/v1/memories/from_messages")
def memories_from_messages(body: MemoryFromMessagesRequest) -> MemoryFromMessagesResponse:
    return mielto_memories.memories_from_messages(app.principal, body)


handler = lambda_handler(app)
