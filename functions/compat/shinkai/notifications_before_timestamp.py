from __future__ import annotations

from typing import Any

from parley.compat.shinkai import subscriptions
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/notifications_before_timestamp")
def notifications_before_timestamp(body: subscriptions.NotificationsBeforeBody) -> list[dict[str, Any]]:
    return subscriptions.notifications_before_timestamp(app.principal, body)


handler = lambda_handler(app)
