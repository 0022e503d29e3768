from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.setup import CreateSetup, SetupResult
from parley.services import setup

app = api()


@app.post("/v1/setup", status=201, public=True)
def create_setup(body: CreateSetup) -> SetupResult:
    return setup.create(body)


handler = lambda_handler(app)
