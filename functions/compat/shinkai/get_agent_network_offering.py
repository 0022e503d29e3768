"""Unsupported: it asks another Shinkai node, over the network, what it sells (400)."""

from __future__ import annotations

from parley.compat.shinkai import tool_offerings
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/get_agent_network_offering", idempotent=False)
def get_agent_network_offering(body: tool_offerings.AgentNetworkOfferingBody) -> None:
    tool_offerings.unsupported("get_agent_network_offering")


handler = lambda_handler(app)
