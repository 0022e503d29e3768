"""GET /console and GET /console/{asset+}: the web console's static files, from this package.

The console is a client of the public API like any other, so it needs no server of its own: this
function only hands out the files under ``assets/`` (shipped with the function, as CodeUri is
``functions/``). Every servable file is known at cold start, so a request path is only ever a key
into that table and can never name a file outside it (``..``, encoded or not, is simply unknown).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from parley import errors
from parley.http import Response, api, lambda_handler

ASSETS_DIR = Path(__file__).with_name("assets")
INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The files are not content-hashed (no build step), so a browser must revalidate each one on every
# load: the ETag makes that a 304 without a body, and a deployment shows at once, never half-cached.
CACHE_CONTROL = "no-cache"
# The page runs only its own scripts and styles. It talks to this API (same origin), to the WebSocket
# API (another origin: ws/wss), and nothing else.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}

app = api()


@dataclass(frozen=True)
class Asset:
    text: str
    content_type: str
    etag: str


@cache
def _assets() -> dict[str, Asset]:
    """Every servable file by its path under assets/, read once per execution environment."""
    table: dict[str, Asset] = {}
    for path in sorted(ASSETS_DIR.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix)
        if content_type is None or not path.is_file():
            continue
        data = path.read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        table[path.relative_to(ASSETS_DIR).as_posix()] = Asset(data.decode("utf-8"), content_type, etag)
    return table


def _serve(name: str) -> Response:
    asset = _assets().get(name)
    if asset is None:
        raise errors.NotFound("The console has no such file.")
    headers = {"cache-control": CACHE_CONTROL, "etag": asset.etag, **SECURITY_HEADERS}
    if app.request.headers.get("if-none-match") == asset.etag:
        return Response(304, "", headers)
    return Response(200, asset.text, {"content-type": asset.content_type, **headers})


@app.get("/console", public=True)
def console_page() -> Response:
    """The console's page."""
    return _serve(INDEX)


# A greedy path parameter ({asset+}) is matched by API Gateway's route key, not by parley.http's
# parameter binding, so its value is read from the request.
@app.get("/console/{asset+}", public=True)
def console_asset() -> Response:
    """One of the page's scripts or stylesheets."""
    return _serve(app.request.path_params.get("asset", ""))


handler = lambda_handler(app)
