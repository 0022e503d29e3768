from __future__ import annotations

from typing import Any

from parley.compat.shinkai import llm_providers
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/scan_ollama_models")
def scan_ollama_models() -> list[dict[str, Any]]:
    return llm_providers.scan_ollama_models(app.principal)


handler = lambda_handler(app)
