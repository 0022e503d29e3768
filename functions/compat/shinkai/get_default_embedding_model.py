from __future__ import annotations

from parley.compat.shinkai import node
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/default_embedding_model")
def get_default_embedding_model() -> str:
    return node.default_embedding_model(app.principal)


handler = lambda_handler(app)
