from __future__ import annotations

from parley import __version__, clock
from parley.http import api, lambda_handler

app = api()


@app.get("/v1/health", public=True)
def health() -> dict[str, str]:
    return {"status": "ok", "service": "parley", "version": __version__, "time": clock.iso()}


handler = lambda_handler(app)
