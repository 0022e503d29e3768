from __future__ import annotations

from typing import Any

from parley.compat.shinkai import tool_offerings
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/set_tool_offering")
def set_tool_offering(body: tool_offerings.SetToolOfferingBody) -> dict[str, Any]:
    return tool_offerings.set_tool_offering(app.principal, body)


handler = lambda_handler(app)
