from __future__ import annotations

from parley.compat.shinkai import node
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Request, lambda_handler

app = shinkai_api()


@app.post("/v2/local_processing_preference")
def set_local_processing_preference(request: Request) -> str:
    return node.set_local_processing_preference(app.principal, request.json())


handler = lambda_handler(app)
