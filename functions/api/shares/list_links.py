from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import ListQuery, Page
from parley.models.sharing import ShareLink
from parley.services import sharing

app = api()


@app.get("/v1/folders/<folder_id>/share/links")
def list_share_links(folder_id: str, query: ListQuery) -> Page[ShareLink]:
    return sharing.list_links(app.principal, folder_id, query)


handler = lambda_handler(app)
