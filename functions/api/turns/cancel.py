from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.turns import Turn
from parley.services import turns

app = api()


@app.post("/v1/conversations/<conversation_id>/turns/<turn_id>/cancel")
def cancel_turn(conversation_id: str, turn_id: str) -> Turn:
    return turns.cancel(app.principal, conversation_id, turn_id)


handler = lambda_handler(app)
