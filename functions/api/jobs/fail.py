from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.jobs import FailJob, Job
from parley.services import jobs

app = api()


@app.post("/v1/jobs/<job_id>/fail")
def fail_job(job_id: str, body: FailJob) -> Job:
    return jobs.fail(app.principal, job_id, body)


handler = lambda_handler(app)
