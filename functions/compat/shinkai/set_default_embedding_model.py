from __future__ import annotations

from parley.compat.shinkai import node
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Request, lambda_handler

app = shinkai_api()


@app.post("/v2/default_embedding_model")
def set_default_embedding_model(request: Request) -> str:
    return node.set_default_embedding_model(app.principal, request.json())


handler = lambda_handler(app)
