from __future__ import annotations

from parley.compat import mielto_memories
from parley.compat.mielto_memories import MemoryUserQuery
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.delete("/api/v1/memories/<memory_id>")
def delete_memory(memory_id: str, query: MemoryUserQuery) -> dict[str, str]:
    return mielto_memories.delete_memory(app.principal, memory_id, query)


handler = lambda_handler(app)
