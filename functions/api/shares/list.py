from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import ListQuery, Page
from parley.models.sharing import Share
from parley.services import sharing

app = api()


@app.get("/v1/shares")
def list_shares(query: ListQuery) -> Page[Share]:
    return sharing.list_shares(app.principal, query)


handler = lambda_handler(app)
