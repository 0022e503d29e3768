from __future__ import annotations

from parley.compat import mielto
from parley.compat.mielto import MessageListQuery, MessageRead
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.get("/api/v1/messages")
def list_messages(query: MessageListQuery) -> list[MessageRead]:
    return mielto.list_messages(app.principal, query)


handler = lambda_handler(app)
