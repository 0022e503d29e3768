from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.sharing import Share
from parley.services import sharing

app = api()


@app.get("/v1/folders/<folder_id>/share")
def get_share(folder_id: str) -> Share:
    return sharing.get_share(app.principal, folder_id)


handler = lambda_handler(app)
