from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.files import File
from parley.models.folders import CopyFile
from parley.services import folders

app = api()


@app.post("/v1/files/<file_id>/copy", status=201)
def copy_file(file_id: str, body: CopyFile) -> File:
    return folders.copy_file(app.principal, file_id, body.folder_id, body.name)


handler = lambda_handler(app)
