from __future__ import annotations

from parley import errors
from parley.compat.shinkai import inboxes
from parley.compat.shinkai.wire import error_body, shinkai_api
from parley.http import Response, lambda_handler

app = shinkai_api()


@app.get("/v2/download_file_from_inbox/<inbox_name>/<filename>")
def download_file_from_inbox(inbox_name: str, filename: str) -> Response:
    try:
        data = inboxes.download_file_from_inbox(app.principal, inbox_name, filename)
    except errors.ParleyError as exc:
        # Shinkai answers every failure here as a 500 that says why.
        return Response(
            500,
            error_body(500, "Internal Server Error", f"Failed to retrieve file from inbox: {exc.message}"),
        )
    return Response(200, data, {"content-type": "application/octet-stream"})


handler = lambda_handler(app)
