from __future__ import annotations

from typing import Any

from parley.compat.shinkai import subscriptions
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Request, lambda_handler

app = shinkai_api()


@app.post("/v2/http_free_subscription_links")
def http_free_subscription_links(request: Request) -> list[dict[str, Any]]:
    return subscriptions.http_free_subscription_links(app.principal, request.json())


handler = lambda_handler(app)
