from __future__ import annotations

from parley.compat import mintlify
from parley.compat.mintlify import AgentJob
from parley.http import lambda_handler

app = mintlify.mintlify_api()


@app.get("/v2/agent/<projectId>/job/<id>")
def get_job(projectId: str, id: str) -> AgentJob:  # noqa: N803 - the route's parameters
    return mintlify.get_job(app.principal, projectId, id)


handler = lambda_handler(app)
