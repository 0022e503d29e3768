from __future__ import annotations

from parley.compat.shinkai import node
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.get("/v2/local_processing_preference")
def get_local_processing_preference() -> bool:
    app.principal  # noqa: B018 - the key is checked even though the answer does not depend on it
    return node.local_processing_preference()


handler = lambda_handler(app)
