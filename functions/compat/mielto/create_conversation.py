from __future__ import annotations

from parley.compat import mielto
from parley.compat.mielto import ConversationCreate, ConversationRead
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.post("/api/v1/conversations", status=201)
def create_conversation(body: ConversationCreate) -> ConversationRead:
    return mielto.create_conversation(app.principal, body)


handler = lambda_handler(app)
