from __future__ import annotations

from parley.compat.shinkai import subscriptions
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/unsubscribe")
def unsubscribe(body: subscriptions.StreamerPathBody) -> str:
    return subscriptions.unsubscribe(app.principal, body)


handler = lambda_handler(app)
