from __future__ import annotations

from typing import Any

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Response, lambda_handler

app = shinkai_api()


@app.post("/v2/job_message")
def job_message(body: jobs.JobMessageBody) -> dict[str, Any] | Response:
    return jobs.send_job_message(app.principal, body)


handler = lambda_handler(app)
