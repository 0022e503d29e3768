from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.jobs import JobScope
from parley.services import jobs

app = api()


@app.put("/v1/jobs/<job_id>/scope")
def update_job_scope(job_id: str, body: JobScope) -> JobScope:
    return jobs.put_scope(app.principal, job_id, body)


handler = lambda_handler(app)
