from __future__ import annotations

from parley.compat.shinkai import llm_providers
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Request, lambda_handler

app = shinkai_api()


@app.post("/v2/add_ollama_models")
def add_ollama_models(request: Request) -> dict[str, str]:
    return llm_providers.add_ollama_models(app.principal, request.json())


handler = lambda_handler(app)
