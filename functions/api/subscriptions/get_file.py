from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.sharing import SharedFile
from parley.services import sharing

app = api()


@app.get("/v1/subscriptions/<subscription_id>/files/<file_id>")
def get_subscription_file(subscription_id: str, file_id: str) -> SharedFile:
    return sharing.file(app.principal, subscription_id, file_id)


handler = lambda_handler(app)
