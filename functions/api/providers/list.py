from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import ListQuery, Page
from parley.models.providers import Provider
from parley.services import providers

app = api()


@app.get("/v1/providers")
def list_providers(query: ListQuery) -> Page[Provider]:
    return providers.list_providers(app.principal, query)


handler = lambda_handler(app)
