from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import Page
from parley.models.tool_offerings import WorkspaceTool
from parley.services import tool_offerings

app = api()


@app.get("/v1/tools")
def list_tools() -> Page[WorkspaceTool]:
    return tool_offerings.list_tools(app.principal)


handler = lambda_handler(app)
