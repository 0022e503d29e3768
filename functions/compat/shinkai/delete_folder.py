from __future__ import annotations

from typing import Any

from parley.compat.shinkai import vfs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/delete_folder")
def delete_folder_route(body: vfs.PathBody) -> Any:
    """Answers str (or the node's error)."""
    return vfs.respond(lambda: vfs.delete_folder(app.principal, body))


handler = lambda_handler(app)
