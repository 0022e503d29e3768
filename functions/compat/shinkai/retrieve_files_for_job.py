from __future__ import annotations

from typing import Any

from parley.compat.shinkai import vfs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/retrieve_files_for_job")
def retrieve_files_for_job_route(query: vfs.JobIdQuery) -> Any:
    """Answers list[dict[str, Any]] (or the node's error)."""
    return vfs.respond(lambda: vfs.retrieve_files_for_job(app.principal, query))


handler = lambda_handler(app)
