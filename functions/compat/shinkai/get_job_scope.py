from __future__ import annotations

from typing import Any

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/get_job_scope")
def get_job_scope(query: jobs.JobIdQuery) -> dict[str, Any]:
    return jobs.get_job_scope(app.principal, query.job_id)


handler = lambda_handler(app)
