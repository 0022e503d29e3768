from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.api_keys import ApiKey, ApiKeyListQuery
from parley.models.base import Page
from parley.services import api_keys

app = api()


@app.get("/v1/api-keys")
def list_api_keys(query: ApiKeyListQuery) -> Page[ApiKey]:
    return api_keys.list_keys(app.principal, query)


handler = lambda_handler(app)
