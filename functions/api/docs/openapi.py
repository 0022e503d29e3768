"""GET /v1/openapi.json: the OpenAPI 3.1 document ``make openapi`` generated from the handlers."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from parley.http import Response, api, lambda_handler

# Written by `make openapi` beside this file, so it ships in the function's package (CodeUri).
DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
# The document changes only with a deployment: let clients and CDNs keep it for five minutes.
CACHE_CONTROL = "public, max-age=300"

app = api()


@cache
def _document() -> str:
    # Read once per execution environment; served as the bytes on disk, never parsed and re-serialised.
    return DOCUMENT_PATH.read_text(encoding="utf-8")


@app.get("/v1/openapi.json", public=True)
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of the native API."""
    return Response(200, _document(), {"content-type": "application/json", "cache-control": CACHE_CONTROL})


handler = lambda_handler(app)
