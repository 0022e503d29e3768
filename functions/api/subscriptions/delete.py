from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import sharing

app = api()


@app.delete("/v1/subscriptions/<subscription_id>", status=204)
def unsubscribe(subscription_id: str) -> None:
    sharing.unsubscribe(app.principal, subscription_id)


handler = lambda_handler(app)
