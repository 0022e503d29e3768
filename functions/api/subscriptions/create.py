from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.sharing import Subscribe, Subscription
from parley.services import sharing

app = api()


@app.post("/v1/subscriptions", status=201)
def subscribe(body: Subscribe) -> Subscription:
    return sharing.subscribe(app.principal, body)


handler = lambda_handler(app)
