from __future__ import annotations

from parley.compat.shinkai import subscriptions
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/create_shareable_folder")
def create_shareable_folder(body: subscriptions.CreateShareableFolderBody) -> str:
    return subscriptions.create_shareable_folder(app.principal, body)


handler = lambda_handler(app)
