from parley.models.base import Name, RequestModel, ResponseModel


class CreateWorkspace(RequestModel):
    name: Name


class Workspace(ResponseModel):
    id: str
    name: str
    created_at: str
