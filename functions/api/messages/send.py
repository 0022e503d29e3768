from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.messages import Accepted, SendMessage
from parley.services import messages

app = api()


@app.post("/v1/conversations/<conversation_id>/messages", status=202)
def send_message(conversation_id: str, body: SendMessage) -> Accepted:
    return messages.send(app.principal, conversation_id, body)


handler = lambda_handler(app)
