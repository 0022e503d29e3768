from __future__ import annotations

from parley.compat.shinkai import node
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Request, lambda_handler

app = shinkai_api()


@app.post("/v2/change_node_name")
def change_node_name(request: Request) -> dict[str, str]:
    return node.change_node_name(app.principal, request.json())


handler = lambda_handler(app)
