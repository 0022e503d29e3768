from __future__ import annotations

from typing import Any

from parley.compat.shinkai import vfs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/convert_files_and_save")
def convert_files_and_save_route(body: vfs.ConvertFilesBody) -> Any:
    """Answers list[str] (or the node's error)."""
    return vfs.respond(lambda: vfs.convert_files_and_save(app.principal, body))


handler = lambda_handler(app)
