from __future__ import annotations

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/update_job_scope")
def update_job_scope(body: jobs.UpdateJobScopeBody) -> dict[str, str]:
    return jobs.update_job_scope(app.principal, body)


handler = lambda_handler(app)
