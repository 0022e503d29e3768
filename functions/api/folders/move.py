from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.folders import Folder, MoveFolder
from parley.services import folders

app = api()


@app.patch("/v1/folders/<folder_id>")
def move_folder(folder_id: str, body: MoveFolder) -> Folder:
    return folders.move(app.principal, folder_id, body.path)


handler = lambda_handler(app)
