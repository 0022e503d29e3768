from __future__ import annotations

from parley.http import Response, api, lambda_handler
from parley.services import files

app = api()


@app.get("/v1/files/<file_id>/content")
def get_file_content(file_id: str) -> Response:
    return files.content(app.principal, file_id)


handler = lambda_handler(app)
