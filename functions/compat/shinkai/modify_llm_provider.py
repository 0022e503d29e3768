from __future__ import annotations

from parley.compat.shinkai import llm_providers
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Request, lambda_handler

app = shinkai_api()


@app.post("/v2/modify_llm_provider")
def modify_llm_provider(request: Request) -> str:
    return llm_providers.modify_llm_provider(app.principal, request.json())


handler = lambda_handler(app)
