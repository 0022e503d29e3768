from __future__ import annotations

from parley.compat.shinkai import vfs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/retrieve_vector_resource")
def retrieve_vector_resource() -> None:
    vfs.retrieve_vector_resource()


handler = lambda_handler(app)
