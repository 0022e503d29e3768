from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import ListQuery, Page
from parley.models.sharing import Subscription
from parley.services import sharing

app = api()


@app.get("/v1/subscriptions")
def list_subscriptions(query: ListQuery) -> Page[Subscription]:
    return sharing.list_subscriptions(app.principal, query)


handler = lambda_handler(app)
