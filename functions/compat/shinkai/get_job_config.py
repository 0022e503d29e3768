from __future__ import annotations

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/get_job_config")
def get_job_config(query: jobs.JobIdQuery) -> jobs.ShinkaiJobConfig:
    return jobs.get_job_config(app.principal, query.job_id)


handler = lambda_handler(app)
