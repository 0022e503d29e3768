from __future__ import annotations

from typing import Any

from parley.compat.shinkai import tool_offerings
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/get_all_tool_offerings")
def get_all_tool_offerings() -> list[dict[str, Any]]:
    return tool_offerings.get_all_tool_offerings(app.principal)


handler = lambda_handler(app)
