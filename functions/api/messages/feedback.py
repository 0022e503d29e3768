from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.messages import Feedback, Message
from parley.services import messages

app = api()


@app.put("/v1/conversations/<conversation_id>/messages/<message_id>/feedback")
def message_feedback(conversation_id: str, message_id: str, body: Feedback) -> Message:
    return messages.feedback(app.principal, conversation_id, message_id, body)


handler = lambda_handler(app)
