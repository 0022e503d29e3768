from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.messages import Accepted, EditMessage
from parley.services import messages

app = api()


@app.post("/v1/conversations/<conversation_id>/messages/<message_id>/edit", status=202)
def edit_message(conversation_id: str, message_id: str, body: EditMessage) -> Accepted:
    return messages.edit(app.principal, conversation_id, message_id, body)


handler = lambda_handler(app)
