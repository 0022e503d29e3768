from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.files import Inbox, UpdateInbox
from parley.services import inboxes

app = api()


@app.patch("/v1/inboxes/<inbox_id>")
def update_inbox(inbox_id: str, body: UpdateInbox) -> Inbox:
    return inboxes.update(app.principal, inbox_id, body)


handler = lambda_handler(app)
