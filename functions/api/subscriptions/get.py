from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.sharing import Subscription
from parley.services import sharing

app = api()


@app.get("/v1/subscriptions/<subscription_id>")
def get_subscription(subscription_id: str) -> Subscription:
    return sharing.get_subscription(app.principal, subscription_id)


handler = lambda_handler(app)
