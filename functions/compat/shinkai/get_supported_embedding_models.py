from __future__ import annotations

from parley.compat.shinkai import node
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/supported_embedding_models")
def get_supported_embedding_models() -> list[str]:
    return node.supported_embedding_models(app.principal)


handler = lambda_handler(app)
