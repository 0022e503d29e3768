from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.messages import Accepted, SendMessage
from parley.services import jobs

app = api()


@app.post("/v1/jobs/<job_id>/messages", status=202)
def send_job_message(job_id: str, body: SendMessage) -> Accepted:
    return jobs.send_message(app.principal, job_id, body)


handler = lambda_handler(app)
