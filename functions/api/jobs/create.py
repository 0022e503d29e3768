from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.jobs import CreatedJob, CreateJob
from parley.services import jobs

app = api()


@app.post("/v1/jobs", status=201)
def create_job(body: CreateJob) -> CreatedJob:
    return jobs.create(app.principal, body)


handler = lambda_handler(app)
