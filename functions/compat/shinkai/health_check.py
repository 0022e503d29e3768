from __future__ import annotations

from typing import Any

from parley.compat.shinkai import node
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/health_check", public=True)
def health_check() -> dict[str, Any]:
    return node.health_check()


handler = lambda_handler(app)
