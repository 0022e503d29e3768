from __future__ import annotations

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/create_job")
def create_job(body: jobs.CreateJobBody) -> dict[str, str]:
    return jobs.create_job(app.principal, body)


handler = lambda_handler(app)
