"""Unsupported: a NetworkTool is a tool as other Shinkai nodes call it over the network (400)."""

from __future__ import annotations

from parley.compat.shinkai import tool_offerings
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/get_tool_with_offering", idempotent=False)
def get_tool_with_offering(body: tool_offerings.ToolKeyBody) -> None:
    tool_offerings.unsupported("get_tool_with_offering")


handler = lambda_handler(app)
