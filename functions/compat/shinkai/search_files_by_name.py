from __future__ import annotations

from typing import Any

from parley.compat.shinkai import vfs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/search_files_by_name")
def search_files_by_name_route(query: vfs.NameQuery) -> Any:
    """Answers list[dict[str, Any]] (or the node's error)."""
    return vfs.respond(lambda: vfs.search_files_by_name(app.principal, query))


handler = lambda_handler(app)
