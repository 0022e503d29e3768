from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.jobs import JobConfig
from parley.services import jobs

app = api()


@app.get("/v1/jobs/<job_id>/config")
def get_job_config(job_id: str) -> JobConfig:
    return jobs.get_config(app.principal, job_id)


handler = lambda_handler(app)
