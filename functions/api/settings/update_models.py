from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.model_settings import ModelSettings, UpdateModelSettings
from parley.services import model_settings

app = api()


@app.put("/v1/settings/models")
def update_model_settings(body: UpdateModelSettings) -> ModelSettings:
    return model_settings.update(app.principal, body)


handler = lambda_handler(app)
