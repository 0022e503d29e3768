from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import ListQuery, Page
from parley.models.turns import Turn
from parley.services import turns

app = api()


@app.get("/v1/conversations/<conversation_id>/turns")
def list_turns(conversation_id: str, query: ListQuery) -> Page[Turn]:
    return turns.list_turns(app.principal, conversation_id, query)


handler = lambda_handler(app)
