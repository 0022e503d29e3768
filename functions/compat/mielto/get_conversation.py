from __future__ import annotations

from parley.compat import mielto
from parley.compat.mielto import ConversationRead
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.get("/api/v1/conversations/<conversation_id>")
def get_conversation(conversation_id: str) -> ConversationRead:
    return mielto.get_conversation(app.principal, conversation_id)


handler = lambda_handler(app)
