from __future__ import annotations

from typing import Any

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/retry_message")
def retry_message(body: jobs.RetryMessageBody) -> dict[str, Any]:
    return jobs.retry_message(app.principal, body)


handler = lambda_handler(app)
