"""Every /v2 path no other function serves: 404 as Shinkai's warp router answers an unknown route."""

from __future__ import annotations

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import Response, lambda_handler

app = shinkai_api()


@app.route("ANY", "/v2/{proxy+}", public=True)
def not_found() -> Response:
    return jobs.not_found()


handler = lambda_handler(app)
