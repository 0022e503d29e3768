from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.files import CreateFile, FileUpload
from parley.services import files

app = api()


@app.post("/v1/files", status=201)
def create_file(body: CreateFile) -> FileUpload:
    return files.create(app.principal, body)


handler = lambda_handler(app)
