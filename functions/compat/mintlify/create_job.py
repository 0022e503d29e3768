from __future__ import annotations

from parley.compat import mintlify
from parley.compat.mintlify import AgentJob, Prompt
from parley.http import lambda_handler

app = mintlify.mintlify_api()


@app.post("/v2/agent/<projectId>/job", status=201)
def create_job(projectId: str, body: Prompt) -> AgentJob:  # noqa: N803 - the route's parameter
    return mintlify.create_job(app.principal, projectId, body)


handler = lambda_handler(app)
