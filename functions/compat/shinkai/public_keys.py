from __future__ import annotations

from parley.compat.shinkai import node
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/public_keys", public=True)
def public_keys() -> dict[str, str]:
    return node.public_keys()


handler = lambda_handler(app)
