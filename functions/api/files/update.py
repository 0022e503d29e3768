from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.files import File
from parley.models.folders import MoveFile
from parley.services import folders

app = api()


@app.patch("/v1/files/<file_id>")
def update_file(file_id: str, body: MoveFile) -> File:
    """Move the file to another folder or inbox (``folder_id``) and/or rename it (``name``)."""
    return folders.move_file(app.principal, file_id, body.folder_id, body.name)


handler = lambda_handler(app)
