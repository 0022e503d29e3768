from __future__ import annotations

from parley.compat.shinkai import node
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Request, lambda_handler

app = shinkai_api()


@app.post("/v2/supported_embedding_models")
def set_supported_embedding_models(request: Request) -> str:
    return node.set_supported_embedding_models(app.principal, request.json())


handler = lambda_handler(app)
