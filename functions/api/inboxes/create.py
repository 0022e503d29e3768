from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.files import CreateInbox, Inbox
from parley.services import inboxes

app = api()


@app.post("/v1/inboxes", status=201)
def create_inbox(body: CreateInbox) -> Inbox:
    return inboxes.create(app.principal, body)


handler = lambda_handler(app)
