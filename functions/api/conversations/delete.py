from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import conversations

app = api()


@app.delete("/v1/conversations/<conversation_id>", status=204)
def delete_conversation(conversation_id: str) -> None:
    conversations.delete(app.principal, conversation_id)


handler = lambda_handler(app)
