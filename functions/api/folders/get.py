from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.folders import Folder
from parley.services import folders

app = api()


@app.get("/v1/folders/<folder_id>")
def get_folder(folder_id: str) -> Folder:
    return folders.get(app.principal, folder_id)


handler = lambda_handler(app)
