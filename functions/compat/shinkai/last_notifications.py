from __future__ import annotations

from typing import Any

from parley.compat.shinkai import subscriptions
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/last_notifications")
def last_notifications(body: subscriptions.LastNotificationsBody) -> list[dict[str, Any]]:
    return subscriptions.last_notifications(app.principal, body)


handler = lambda_handler(app)
