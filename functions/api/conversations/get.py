from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.conversations import Conversation
from parley.services import conversations

app = api()


@app.get("/v1/conversations/<conversation_id>")
def get_conversation(conversation_id: str) -> Conversation:
    return conversations.get(app.principal, conversation_id)


handler = lambda_handler(app)
