from __future__ import annotations

from typing import Any

from parley.compat import odyssey
from parley.compat.odyssey import ChatMessagesQuery
from parley.http import lambda_handler

app = odyssey.odyssey_api()


@app.get("/api/chat/messages")
def list_chat_messages(query: ChatMessagesQuery) -> dict[str, Any]:
    return odyssey.list_chat_messages(app.principal, query)


handler = lambda_handler(app)
