from __future__ import annotations

from parley.compat.shinkai import subscriptions
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/subscribe_to_shared_folder")
def subscribe_to_shared_folder(body: subscriptions.SubscribeBody) -> str:
    return subscriptions.subscribe_to_shared_folder(app.principal, body)


handler = lambda_handler(app)
