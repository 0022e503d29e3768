from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import Page
from parley.models.conversations import Conversation, ConversationListQuery
from parley.services import conversations

app = api()


@app.get("/v1/conversations")
def list_conversations(query: ConversationListQuery) -> Page[Conversation]:
    return conversations.list_conversations(app.principal, query)


handler = lambda_handler(app)
