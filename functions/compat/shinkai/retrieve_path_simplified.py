from __future__ import annotations

from typing import Any

from parley.compat.shinkai import vfs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/retrieve_path_simplified")
def retrieve_path_simplified_route(query: vfs.PathDepthQuery) -> Any:
    """Answers list[dict[str, Any]] (or the node's error)."""
    return vfs.respond(lambda: vfs.retrieve_path_simplified(app.principal, query))


handler = lambda_handler(app)
