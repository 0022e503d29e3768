from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.jobs import CompleteJob, Job
from parley.services import jobs

app = api()


@app.post("/v1/jobs/<job_id>/complete")
def complete_job(job_id: str, body: CompleteJob) -> Job:
    return jobs.complete(app.principal, job_id, body)


handler = lambda_handler(app)
