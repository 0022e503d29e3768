from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.webhooks import UpdateWebhook, Webhook
from parley.services import webhooks

app = api()


@app.patch("/v1/webhooks/<webhook_id>")
def update_webhook(webhook_id: str, body: UpdateWebhook) -> Webhook:
    """With ``rotate_secret: true`` the answer carries the new secret, once."""
    return webhooks.update(app.principal, webhook_id, body)


handler = lambda_handler(app)
