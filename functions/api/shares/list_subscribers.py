from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import ListQuery, Page
from parley.models.sharing import Subscription
from parley.services import sharing

app = api()


@app.get("/v1/folders/<folder_id>/subscribers")
def list_subscribers(folder_id: str, query: ListQuery) -> Page[Subscription]:
    return sharing.subscribers(app.principal, folder_id, query)


handler = lambda_handler(app)
