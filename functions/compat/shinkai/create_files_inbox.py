from __future__ import annotations

from parley.compat.shinkai import inboxes
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/create_files_inbox")
def create_files_inbox() -> str:
    return inboxes.create_files_inbox(app.principal)


handler = lambda_handler(app)
