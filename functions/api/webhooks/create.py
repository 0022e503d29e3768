from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.webhooks import CreateWebhook, WebhookWithSecret
from parley.services import webhooks

app = api()


@app.post("/v1/webhooks", status=201)
def create_webhook(body: CreateWebhook) -> WebhookWithSecret:
    return webhooks.create(app.principal, body)


handler = lambda_handler(app)
