from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import tool_offerings

app = api()


@app.delete("/v1/tools/<tool_key>/offering", status=204)
def remove_tool_offering(tool_key: str) -> None:
    tool_offerings.remove_offering(app.principal, tool_key)


handler = lambda_handler(app)
