from pydantic import Field

from parley.models.api_keys import CreatedApiKey
from parley.models.base import Name, RequestModel, ResponseModel
from parley.models.workspaces import Workspace


class SetupStatus(ResponseModel):
    pristine: bool


class CreateSetup(RequestModel):
    workspace_name: Name = Field(description="Name of the first workspace")


class SetupResult(ResponseModel):
    workspace: Workspace
    api_key: CreatedApiKey
