from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.api_keys import CreateApiKey, CreatedApiKey
from parley.services import api_keys

app = api()


@app.post("/v1/api-keys", status=201)
def create_api_key(body: CreateApiKey) -> CreatedApiKey:
    return api_keys.create(app.principal, body)


handler = lambda_handler(app)
