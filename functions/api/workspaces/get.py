from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.workspaces import Workspace
from parley.services import workspaces

app = api()


@app.get("/v1/workspaces/<workspace_id>")
def get_workspace(workspace_id: str) -> Workspace:
    return workspaces.get(app.principal, workspace_id)


handler = lambda_handler(app)
