from __future__ import annotations

from parley.compat import mielto_memories
from parley.compat.mielto_memories import MemoryEnvelope, MemoryReplace
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.post("/api/v1/memories/<memory_id>/replace")
def replace_memory(memory_id: str, body: MemoryReplace) -> MemoryEnvelope:
    return mielto_memories.replace_memory(app.principal, memory_id, body)


handler = lambda_handler(app)
