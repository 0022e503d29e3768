from __future__ import annotations

from parley.compat.shinkai import inboxes
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Request, lambda_handler
from parley.models.files import MAX_DIRECT_UPLOAD_BYTES

app = shinkai_api()


@app.post("/v2/add_file_to_inbox", max_body_bytes=MAX_DIRECT_UPLOAD_BYTES)
def add_file_to_inbox(request: Request) -> str:
    return inboxes.add_file_to_inbox(app.principal, request.body, request.headers.get("content-type", ""))


handler = lambda_handler(app)
