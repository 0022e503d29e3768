from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.setup import SetupStatus
from parley.services import setup

app = api()


@app.get("/v1/setup", public=True)
def setup_status() -> SetupStatus:
    return setup.status()


handler = lambda_handler(app)
