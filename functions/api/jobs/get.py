from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.jobs import Job
from parley.services import jobs

app = api()


@app.get("/v1/jobs/<job_id>")
def get_job(job_id: str) -> Job:
    return jobs.get(app.principal, job_id)


handler = lambda_handler(app)
