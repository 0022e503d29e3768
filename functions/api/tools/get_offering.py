from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.tool_offerings import ToolOffering
from parley.services import tool_offerings

app = api()


@app.get("/v1/tools/<tool_key>/offering")
def get_tool_offering(tool_key: str) -> ToolOffering:
    return tool_offerings.get_offering(app.principal, tool_key)


handler = lambda_handler(app)
