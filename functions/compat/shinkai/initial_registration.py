from __future__ import annotations

from typing import Any

from parley.compat.shinkai import node
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Request, lambda_handler

app = shinkai_api()


@app.post("/v2/initial_registration", public=True)
def initial_registration(request: Request) -> dict[str, Any]:
    return node.initial_registration(request.json())


handler = lambda_handler(app)
