from __future__ import annotations

from typing import Any

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/last_messages", idempotent=False)  # a read (Shinkai uses POST)
def last_messages(body: jobs.LastMessagesBody) -> list[dict[str, Any]]:
    return jobs.last_messages(app.principal, body)


handler = lambda_handler(app)
