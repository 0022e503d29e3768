from __future__ import annotations

from typing import Any

from parley.compat.shinkai import subscriptions
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/my_subscriptions")
def my_subscriptions() -> list[dict[str, Any]]:
    return subscriptions.my_subscriptions(app.principal)


handler = lambda_handler(app)
