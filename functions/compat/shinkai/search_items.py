from __future__ import annotations

from typing import Any

from parley.compat.shinkai import vfs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/search_items")
def search_items_route(body: vfs.SearchItemsBody) -> Any:
    """Answers dict[str, Any] (or the node's error)."""
    return vfs.respond(lambda: vfs.search_items(app.principal, body))


handler = lambda_handler(app)
