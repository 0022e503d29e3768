from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.folders import CopyFolder, Folder
from parley.services import folders

app = api()


@app.post("/v1/folders/<folder_id>/copy", status=201)
def copy_folder(folder_id: str, body: CopyFolder) -> Folder:
    return folders.copy(app.principal, folder_id, body.path)


handler = lambda_handler(app)
