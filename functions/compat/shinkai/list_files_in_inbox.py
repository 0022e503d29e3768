from __future__ import annotations

from parley.compat.shinkai import inboxes
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/list_files_in_inbox/<inbox_name>")
def list_files_in_inbox(inbox_name: str) -> list[str]:
    return inboxes.list_files_in_inbox(app.principal, inbox_name)


handler = lambda_handler(app)
