from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import files

app = api()


@app.delete("/v1/files/<file_id>", status=204)
def delete_file(file_id: str) -> None:
    files.delete(app.principal, file_id)


handler = lambda_handler(app)
