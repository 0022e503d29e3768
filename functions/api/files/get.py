from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.files import File
from parley.services import files

app = api()


@app.get("/v1/files/<file_id>")
def get_file(file_id: str) -> File:
    return files.get(app.principal, file_id)


handler = lambda_handler(app)
