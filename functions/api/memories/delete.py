from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import memories

app = api()


@app.delete("/v1/memories/<memory_id>", status=204)
def delete_memory(memory_id: str) -> None:
    memories.delete(app.principal, memory_id)


handler = lambda_handler(app)
