from __future__ import annotations

from typing import Any

from parley.compat import odyssey
from parley.compat.odyssey import WorkspaceQuery
from parley.http import lambda_handler

# /api/conversations documents its errors flat: {"error": "…"}
app = odyssey.odyssey_api(nested_errors=False)


@app.get("/api/conversations")
def list_conversations(query: WorkspaceQuery) -> dict[str, Any]:
    return odyssey.list_conversations(app.principal, query)


handler = lambda_handler(app)
