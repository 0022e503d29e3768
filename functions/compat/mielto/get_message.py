from __future__ import annotations

from parley.compat import mielto
from parley.compat.mielto import MessageRead
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.get("/api/v1/messages/<message_id>")
def get_message(message_id: str) -> MessageRead:
    return mielto.get_message(app.principal, message_id)


handler = lambda_handler(app)
