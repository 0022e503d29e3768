from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.conversations import Conversation, UpdateConversation
from parley.services import conversations

app = api()


@app.patch("/v1/conversations/<conversation_id>")
def update_conversation(conversation_id: str, body: UpdateConversation) -> Conversation:
    return conversations.update(app.principal, conversation_id, body)


handler = lambda_handler(app)
