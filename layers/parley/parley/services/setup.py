"""First-run setup: the first workspace and the deployment admin's key, exactly once."""

from __future__ import annotations

from parley import errors, ids
from parley.config import settings
from parley.models.setup import CreateSetup, SetupResult, SetupStatus
from parley.models.workspaces import Workspace
from parley.services import api_keys, workspaces
from parley.store import api_keys as key_store
from parley.store import table
from parley.store import workspaces as workspace_store


def status() -> SetupStatus:
    return SetupStatus(pristine=not workspace_store.is_set_up())


def create(body: CreateSetup) -> SetupResult:
    workspace = workspaces.new_workspace(body.workspace_name)
    record, secret = api_keys.new_key(workspace["id"], "deployment admin", "admin", deployment_admin=True)
    try:
        # The marker's condition makes concurrent setups race safely: exactly one transaction wins.
        table.transact(
            [
                workspace_store.setup_op(workspace["id"], workspace["created_at"]),
                workspace_store.put_op(workspace),
                *key_store.put_ops(record, ids.api_key_hash(secret)),
            ]
        )
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            raise errors.Conflict("This deployment is already set up; ask its admin for an API key.") from exc
        raise
    if settings().starter_agent == "scripted":
        from parley.services import agents

        agents.create_starter_agent(workspace["id"])
    return SetupResult(workspace=Workspace(**workspace), api_key=api_keys.created(record, secret))
