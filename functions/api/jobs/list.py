from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import Page
from parley.models.jobs import Job, JobListQuery
from parley.services import jobs

app = api()


@app.get("/v1/jobs")
def list_jobs(query: JobListQuery) -> Page[Job]:
    return jobs.list_jobs(app.principal, query)


handler = lambda_handler(app)
