from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import providers

app = api()


@app.delete("/v1/providers/<provider_id>", status=204)
def delete_provider(provider_id: str) -> None:
    providers.delete(app.principal, provider_id)


handler = lambda_handler(app)
