from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import Page
from parley.models.messages import Message, MessageListQuery
from parley.services import jobs

app = api()


@app.get("/v1/jobs/<job_id>/messages")
def list_job_messages(job_id: str, query: MessageListQuery) -> Page[Message]:
    return jobs.list_messages(app.principal, job_id, query)


handler = lambda_handler(app)
