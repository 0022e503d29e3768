from __future__ import annotations

from typing import Any

from parley.compat.shinkai import job_views
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/all_inboxes")
def all_inboxes(query: job_views.AllInboxesQuery) -> list[dict[str, Any]]:
    return job_views.all_inboxes(app.principal, query)


handler = lambda_handler(app)
