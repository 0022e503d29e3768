from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.providers import CreateProvider, Provider
from parley.services import providers

app = api()


@app.post("/v1/providers", status=201)
def create_provider(body: CreateProvider) -> Provider:
    return providers.create(app.principal, body)


handler = lambda_handler(app)
