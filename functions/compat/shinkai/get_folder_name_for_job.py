from __future__ import annotations

from typing import Any

from parley.compat.shinkai import vfs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/get_folder_name_for_job")
def get_folder_name_for_job_route(query: vfs.JobIdQuery) -> Any:
    """Answers dict[str, str] (or the node's error)."""
    return vfs.respond(lambda: vfs.get_folder_name_for_job(app.principal, query))


handler = lambda_handler(app)
