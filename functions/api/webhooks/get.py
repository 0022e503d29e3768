from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.webhooks import Webhook
from parley.services import webhooks

app = api()


@app.get("/v1/webhooks/<webhook_id>")
def get_webhook(webhook_id: str) -> Webhook:
    return webhooks.get(app.principal, webhook_id)


handler = lambda_handler(app)
