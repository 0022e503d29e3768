from __future__ import annotations

from typing import Any

from parley.compat.shinkai import subscriptions
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/available_shared_items_open")
def available_shared_items_open(body: subscriptions.StreamerPathBody) -> list[dict[str, Any]]:
    return subscriptions.available_shared_items_open(app.principal, body)


handler = lambda_handler(app)
