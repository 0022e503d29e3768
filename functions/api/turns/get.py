from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.turns import Turn, TurnQuery
from parley.services import turns

app = api()


@app.get("/v1/conversations/<conversation_id>/turns/<turn_id>")
def get_turn(conversation_id: str, turn_id: str, query: TurnQuery) -> Turn:
    return turns.get(app.principal, conversation_id, turn_id, query)


handler = lambda_handler(app)
