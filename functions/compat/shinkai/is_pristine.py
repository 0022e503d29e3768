from __future__ import annotations

from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler
from parley.services import setup

app = shinkai_api()


@app.get("/v2/is_pristine")
def is_pristine() -> bool:
    app.principal  # noqa: B018 - the key is checked even though the answer does not depend on it
    return setup.status().pristine


handler = lambda_handler(app)
