from __future__ import annotations

from typing import Any

from parley.compat.shinkai import vfs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Request, lambda_handler
from parley.models.files import MAX_DIRECT_UPLOAD_BYTES

app = shinkai_api()


@app.post("/v2/upload_file_to_folder", max_body_bytes=MAX_DIRECT_UPLOAD_BYTES)
def upload_file_to_folder_route(request: Request) -> Any:
    """Answers dict[str, str] (or the node's error)."""
    return vfs.respond(
        lambda: vfs.upload_file_to_folder(
            app.principal, request.body, request.headers.get("content-type", "")
        )
    )


handler = lambda_handler(app)
