from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import ListQuery, Page
from parley.models.files import Inbox
from parley.services import inboxes

app = api()


@app.get("/v1/inboxes")
def list_inboxes(query: ListQuery) -> Page[Inbox]:
    return inboxes.list_inboxes(app.principal, query)


handler = lambda_handler(app)
