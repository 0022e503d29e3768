from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import inboxes

app = api()


@app.delete("/v1/inboxes/<inbox_id>", status=204)
def delete_inbox(inbox_id: str) -> None:
    inboxes.delete(app.principal, inbox_id)


handler = lambda_handler(app)
