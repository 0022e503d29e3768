from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.model_settings import ModelSettings
from parley.services import model_settings

app = api()


@app.get("/v1/settings/models")
def get_model_settings() -> ModelSettings:
    return model_settings.get(app.principal)


handler = lambda_handler(app)
