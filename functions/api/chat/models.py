from __future__ import annotations

from parley.compat import openai
from parley.http import api, lambda_handler
from parley.models.chat import ModelList

app = api(openai.openai_error)


@app.get("/v1/models")
def list_models() -> ModelList:
    return openai.list_models(app.principal)


handler = lambda_handler(app)
