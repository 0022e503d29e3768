from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.jobs import Job
from parley.services import jobs

app = api()


@app.post("/v1/jobs/<job_id>/archive")
def archive_job(job_id: str) -> Job:
    return jobs.archive(app.principal, job_id)


handler = lambda_handler(app)
