"""Unsupported: NetworkTools are tools as other Shinkai nodes call them over the network (400)."""

from __future__ import annotations

from parley.compat.shinkai import tool_offerings
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/get_tools_with_offerings")
def get_tools_with_offerings() -> None:
    tool_offerings.unsupported("get_tools_with_offerings")


handler = lambda_handler(app)
