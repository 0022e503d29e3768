from __future__ import annotations

from typing import Any

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/last_messages_with_branches", idempotent=False)  # a read
def last_messages_with_branches(body: jobs.LastMessagesBody) -> list[list[dict[str, Any]]]:
    return jobs.last_messages_with_branches(app.principal, body)


handler = lambda_handler(app)
