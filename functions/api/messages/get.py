from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.messages import Message
from parley.services import messages

app = api()


@app.get("/v1/conversations/<conversation_id>/messages/<message_id>")
def get_message(conversation_id: str, message_id: str) -> Message:
    return messages.get(app.principal, conversation_id, message_id)


handler = lambda_handler(app)
