from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.jobs import JobConfig
from parley.services import jobs

app = api()


@app.put("/v1/jobs/<job_id>/config")
def update_job_config(job_id: str, body: JobConfig) -> JobConfig:
    return jobs.put_config(app.principal, job_id, body)


handler = lambda_handler(app)
