from __future__ import annotations

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/update_smart_inbox_name")
def update_smart_inbox_name(body: jobs.RenameInboxBody) -> None:
    jobs.rename_inbox(app.principal, body)


handler = lambda_handler(app)
