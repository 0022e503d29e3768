from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.conversations import BranchList
from parley.services import messages

app = api()


@app.get("/v1/conversations/<conversation_id>/branches")
def list_branches(conversation_id: str) -> BranchList:
    return messages.list_branches(app.principal, conversation_id)


handler = lambda_handler(app)
