from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.conversations import Conversation
from parley.services import conversations

app = api()


@app.post("/v1/conversations/<conversation_id>/archive")
def archive_conversation(conversation_id: str) -> Conversation:
    return conversations.archive(app.principal, conversation_id)


handler = lambda_handler(app)
