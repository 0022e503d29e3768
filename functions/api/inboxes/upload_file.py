from __future__ import annotations

from parley.http import Request, api, lambda_handler
from parley.models.files import MAX_DIRECT_UPLOAD_BYTES, File
from parley.services import files

app = api()


@app.post("/v1/inboxes/<inbox_id>/files", status=201, max_body_bytes=MAX_DIRECT_UPLOAD_BYTES)
def upload_inbox_file(inbox_id: str, request: Request) -> File:
    return files.upload(app.principal, inbox_id, request.body, request.headers.get("content-type", ""))


handler = lambda_handler(app)
