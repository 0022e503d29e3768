from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import sharing

app = api()


@app.delete("/v1/folders/<folder_id>/share/links/<link_id>", status=204)
def revoke_share_link(folder_id: str, link_id: str) -> None:
    sharing.revoke_link(app.principal, folder_id, link_id)


handler = lambda_handler(app)
