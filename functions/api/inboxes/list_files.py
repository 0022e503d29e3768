from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import Page
from parley.models.files import File, InboxFilesQuery
from parley.services import files

app = api()


@app.get("/v1/inboxes/<inbox_id>/files")
def list_inbox_files(inbox_id: str, query: InboxFilesQuery) -> Page[File]:
    return files.list_in_inbox(app.principal, inbox_id, query)


handler = lambda_handler(app)
