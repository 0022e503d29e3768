from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import sharing

app = api()


@app.delete("/v1/folders/<folder_id>/share", status=204)
def unshare_folder(folder_id: str) -> None:
    sharing.unshare(app.principal, folder_id)


handler = lambda_handler(app)
