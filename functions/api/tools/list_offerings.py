from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import Page
from parley.models.tool_offerings import ToolOffering, ToolOfferingsQuery
from parley.services import tool_offerings

app = api()


@app.get("/v1/tool-offerings")
def list_tool_offerings(query: ToolOfferingsQuery) -> Page[ToolOffering]:
    return tool_offerings.list_offerings(app.principal, query)


handler = lambda_handler(app)
