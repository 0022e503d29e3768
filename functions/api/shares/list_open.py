from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import Page
from parley.models.sharing import Share, SharedFoldersQuery
from parley.services import sharing

app = api()


@app.get("/v1/shared-folders")
def list_shared_folders(query: SharedFoldersQuery) -> Page[Share]:
    return sharing.shared_folders(app.principal, query)


handler = lambda_handler(app)
