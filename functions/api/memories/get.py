from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.memories import Memory
from parley.services import memories

app = api()


@app.get("/v1/memories/<memory_id>")
def get_memory(memory_id: str) -> Memory:
    return memories.get(app.principal, memory_id)


handler = lambda_handler(app)
