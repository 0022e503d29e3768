from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import ListQuery, Page
from parley.models.sharing import SharedFile
from parley.services import sharing

app = api()


@app.get("/v1/subscriptions/<subscription_id>/files")
def list_subscription_files(subscription_id: str, query: ListQuery) -> Page[SharedFile]:
    return sharing.files(app.principal, subscription_id, query)


handler = lambda_handler(app)
