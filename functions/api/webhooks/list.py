from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import ListQuery, Page
from parley.models.webhooks import Webhook
from parley.services import webhooks

app = api()


@app.get("/v1/webhooks")
def list_webhooks(query: ListQuery) -> Page[Webhook]:
    return webhooks.list_webhooks(app.principal, query)


handler = lambda_handler(app)
