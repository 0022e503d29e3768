from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.messages import Message, UpdateMessage
from parley.services import messages

app = api()


@app.patch("/v1/conversations/<conversation_id>/messages/<message_id>")
def update_message(conversation_id: str, message_id: str, body: UpdateMessage) -> Message:
    return messages.update(app.principal, conversation_id, message_id, body)


handler = lambda_handler(app)
