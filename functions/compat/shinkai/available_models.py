"""GET /v2/available_models, also served at the docs' /v2/available_llm_providers."""

from __future__ import annotations

from typing import Any

from parley.compat.shinkai import llm_providers
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/available_models")
@app.get("/v2/available_llm_providers")
def available_models() -> list[dict[str, Any]]:
    return llm_providers.available_models(app.principal)


handler = lambda_handler(app)
