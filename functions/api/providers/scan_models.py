from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.model_settings import ProviderModels
from parley.services import provider_models

app = api()


@app.get("/v1/providers/<provider_id>/models")
def scan_provider_models(provider_id: str) -> ProviderModels:
    return provider_models.scan(app.principal, provider_id)


handler = lambda_handler(app)
