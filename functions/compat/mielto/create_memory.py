from __future__ import annotations

from parley.compat import mielto_memories
from parley.compat.mielto_memories import MemoryCreate, MemoryEnvelope
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.post("/api/v1/memories", status=201)
def create_memory(body: MemoryCreate) -> MemoryEnvelope:
    return mielto_memories.create_memory(app.principal, body)


handler = lambda_handler(app)
