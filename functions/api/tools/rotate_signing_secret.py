from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.tools import ToolSigningSecret
from parley.services import agent_tools

app = api()


@app.post("/v1/tool-signing-secret")
def rotate_tool_signing_secret() -> ToolSigningSecret:
    return agent_tools.rotate_signing_secret(app.principal)


handler = lambda_handler(app)
