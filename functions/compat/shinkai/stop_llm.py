from __future__ import annotations

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/stop_llm")
def stop_llm(body: jobs.InboxBody) -> dict[str, str]:
    return jobs.stop_llm(app.principal, body)


handler = lambda_handler(app)
