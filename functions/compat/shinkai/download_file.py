from __future__ import annotations

from typing import Any

from parley.compat.shinkai import vfs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/download_file")
def download_file_route(query: vfs.DownloadQuery) -> Any:
    """Answers str (or the node's error)."""
    return vfs.respond(lambda: vfs.download_file(app.principal, query))


handler = lambda_handler(app)
