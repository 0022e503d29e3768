from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import ListQuery, Page
from parley.models.files import FileChunk
from parley.services import ingestion

app = api()


@app.get("/v1/files/<file_id>/chunks")
def list_file_chunks(file_id: str, query: ListQuery) -> Page[FileChunk]:
    return ingestion.list_chunks(app.principal, file_id, query)


handler = lambda_handler(app)
