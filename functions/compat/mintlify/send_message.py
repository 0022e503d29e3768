from __future__ import annotations

from parley.compat import mintlify
from parley.compat.mintlify import AgentJob, Prompt
from parley.http import lambda_handler

app = mintlify.mintlify_api()


@app.post("/v2/agent/<projectId>/job/<id>/message")
def send_message(projectId: str, id: str, body: Prompt) -> AgentJob:  # noqa: N803 - route parameters
    return mintlify.send_message(app.principal, projectId, id, body)


handler = lambda_handler(app)
