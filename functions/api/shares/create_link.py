from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.sharing import CreatedShareLink, CreateShareLink
from parley.services import sharing

app = api()


@app.post("/v1/folders/<folder_id>/share/links", status=201)
def create_share_link(folder_id: str, body: CreateShareLink) -> CreatedShareLink:
    return sharing.create_link(app.principal, folder_id, body)


handler = lambda_handler(app)
