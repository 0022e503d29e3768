from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.tool_offerings import SetToolOffering, ToolOffering
from parley.services import tool_offerings

app = api()


@app.put("/v1/tools/<tool_key>/offering")
def set_tool_offering(tool_key: str, body: SetToolOffering) -> ToolOffering:
    return tool_offerings.set_offering(app.principal, tool_key, body)


handler = lambda_handler(app)
