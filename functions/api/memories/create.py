from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.memories import CreateMemory, Memory
from parley.services import memories

app = api()


@app.post("/v1/memories", status=201)
def create_memory(body: CreateMemory) -> Memory:
    return memories.create(app.principal, body)


handler = lambda_handler(app)
