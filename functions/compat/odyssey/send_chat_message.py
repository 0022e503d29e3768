from __future__ import annotations

from typing import Any

from parley.compat import odyssey
from parley.http import Request, lambda_handler

app = odyssey.odyssey_api()


# The body is read by the handler: a missing userId header is refused (403) before the body is judged.
@app.post("/api/chat/message")
def send_chat_message(request: Request) -> dict[str, Any]:
    return odyssey.send_chat_message(app.principal, request)


handler = lambda_handler(app)
