from __future__ import annotations

from parley.compat import mielto_memories
from parley.compat.mielto_memories import MemoryEnvelope, MemoryUpdate
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.put("/api/v1/memories/<memory_id>")
def update_memory(memory_id: str, body: MemoryUpdate) -> MemoryEnvelope:
    return mielto_memories.update_memory(app.principal, memory_id, body)


handler = lambda_handler(app)
