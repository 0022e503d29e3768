from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.jobs import UpdatedJob, UpdateJob
from parley.services import jobs

app = api()


@app.patch("/v1/jobs/<job_id>")
def update_job(job_id: str, body: UpdateJob) -> UpdatedJob:
    return jobs.update(app.principal, job_id, body)


handler = lambda_handler(app)
