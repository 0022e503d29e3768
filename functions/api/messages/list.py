from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import Page
from parley.models.messages import Message, MessageListQuery
from parley.services import messages

app = api()


@app.get("/v1/conversations/<conversation_id>/messages")
def list_messages(conversation_id: str, query: MessageListQuery) -> Page[Message]:
    return messages.list_messages(app.principal, conversation_id, query)


handler = lambda_handler(app)
