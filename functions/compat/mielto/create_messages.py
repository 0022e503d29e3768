from __future__ import annotations

from parley.compat import mielto
from parley.compat.mielto import MessageCreate, MessageRead
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.post("/api/v1/messages", status=201)
def create_messages(body: MessageCreate) -> list[MessageRead]:
    return mielto.create_messages(app.principal, body)


handler = lambda_handler(app)
