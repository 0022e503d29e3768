from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import folders

app = api()


@app.delete("/v1/folders/<folder_id>", status=204)
def delete_folder(folder_id: str) -> None:
    folders.delete(app.principal, folder_id)


handler = lambda_handler(app)
