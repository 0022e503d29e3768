from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.files import Inbox
from parley.services import inboxes

app = api()


@app.get("/v1/inboxes/<inbox_id>")
def get_inbox(inbox_id: str) -> Inbox:
    return inboxes.get(app.principal, inbox_id)


handler = lambda_handler(app)
