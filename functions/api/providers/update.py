from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.providers import Provider, UpdateProvider
from parley.services import providers

app = api()


@app.patch("/v1/providers/<provider_id>")
def update_provider(provider_id: str, body: UpdateProvider) -> Provider:
    return providers.update(app.principal, provider_id, body)


handler = lambda_handler(app)
