from __future__ import annotations

from typing import Any

from parley.compat import odyssey
from parley.compat.odyssey import NewConversation
from parley.http import lambda_handler

# /api/conversations documents its errors flat: {"error": "…"}
app = odyssey.odyssey_api(nested_errors=False)


@app.post("/api/conversations")
def create_conversation(body: NewConversation) -> dict[str, Any]:
    return odyssey.create_conversation(app.principal, body)


handler = lambda_handler(app)
