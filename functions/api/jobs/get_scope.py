from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.jobs import JobScope
from parley.services import jobs

app = api()


@app.get("/v1/jobs/<job_id>/scope")
def get_job_scope(job_id: str) -> JobScope:
    return jobs.get_scope(app.principal, job_id)


handler = lambda_handler(app)
