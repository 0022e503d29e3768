from __future__ import annotations

from parley.compat import mielto
from parley.compat.mielto import MessageRead, MessageUpdate
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.put("/api/v1/messages/<message_id>")
def update_message(message_id: str, body: MessageUpdate) -> MessageRead:
    return mielto.update_message(app.principal, message_id, body)


handler = lambda_handler(app)
