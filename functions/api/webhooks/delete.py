from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import webhooks

app = api()


@app.delete("/v1/webhooks/<webhook_id>", status=204)
def delete_webhook(webhook_id: str) -> None:
    webhooks.delete(app.principal, webhook_id)


handler = lambda_handler(app)
