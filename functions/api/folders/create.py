from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.folders import CreateFolder, Folder
from parley.services import folders

app = api()


@app.post("/v1/folders", status=201)
def create_folder(body: CreateFolder) -> Folder:
    return folders.create(app.principal, body.path)


handler = lambda_handler(app)
