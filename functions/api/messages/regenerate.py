from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.messages import Accepted
from parley.services import messages

app = api()


@app.post("/v1/conversations/<conversation_id>/messages/<message_id>/regenerate", status=202)
def regenerate_message(conversation_id: str, message_id: str) -> Accepted:
    return messages.regenerate(app.principal, conversation_id, message_id)


handler = lambda_handler(app)
