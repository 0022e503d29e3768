from __future__ import annotations

from parley.compat import mielto
from parley.compat.mielto import ConversationList, ConversationListQuery
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.get("/api/v1/conversations")
def list_conversations(query: ConversationListQuery) -> ConversationList:
    return mielto.list_conversations(app.principal, query)


handler = lambda_handler(app)
