from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.workspaces import CreateWorkspace, Workspace
from parley.services import workspaces

app = api()


@app.post("/v1/workspaces", status=201)
def create_workspace(body: CreateWorkspace) -> Workspace:
    return workspaces.create(app.principal, body)


handler = lambda_handler(app)
