from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.conversations import Conversation, CreateConversation
from parley.services import conversations

app = api()


@app.post("/v1/conversations", status=201)
def create_conversation(body: CreateConversation) -> Conversation:
    return conversations.create(app.principal, body)


handler = lambda_handler(app)
