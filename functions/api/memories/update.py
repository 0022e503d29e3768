from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.memories import Memory, UpdateMemory
from parley.services import memories

app = api()


@app.patch("/v1/memories/<memory_id>")
def update_memory(memory_id: str, body: UpdateMemory) -> Memory:
    return memories.update(app.principal, memory_id, body)


handler = lambda_handler(app)
