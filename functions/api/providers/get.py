from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.providers import Provider
from parley.services import providers

app = api()


@app.get("/v1/providers/<provider_id>")
def get_provider(provider_id: str) -> Provider:
    return providers.get(app.principal, provider_id)


handler = lambda_handler(app)
