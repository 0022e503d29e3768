from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.folders import FolderTree, TreeQuery
from parley.services import folders

app = api()


@app.get("/v1/folders")
def folder_tree(query: TreeQuery) -> FolderTree:
    return folders.tree(app.principal, query.path, query.depth)


handler = lambda_handler(app)
