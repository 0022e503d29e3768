from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import ListQuery, Page
from parley.models.workspaces import Workspace
from parley.services import workspaces

app = api()


@app.get("/v1/workspaces")
def list_workspaces(query: ListQuery) -> Page[Workspace]:
    return workspaces.list_workspaces(app.principal, query)


handler = lambda_handler(app)
