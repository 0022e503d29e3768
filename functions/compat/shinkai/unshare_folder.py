from __future__ import annotations

from parley.compat.shinkai import subscriptions
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/unshare_folder")
def unshare_folder(body: subscriptions.PathBody) -> str:
    return subscriptions.unshare_folder(app.principal, body)


handler = lambda_handler(app)
