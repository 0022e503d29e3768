from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.sharing import PutShare, Share
from parley.services import sharing

app = api()


@app.put("/v1/folders/<folder_id>/share")
def put_share(folder_id: str, body: PutShare) -> Share:
    return sharing.put_share(app.principal, folder_id, body)


handler = lambda_handler(app)
