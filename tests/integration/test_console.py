"""GET /console and its assets: the files in the function's package, typed, revalidated, and nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from devstack.events import LambdaContext
from devstack.resources import LocalResources
from tests.conftest import load_handler, sample_event

FUNCTION = "GetConsoleFunction"
ASSETS = Path(__file__).resolve().parents[2] / "functions" / "api" / "console" / "assets"


def get(
    aws: LocalResources, asset: str | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The function's answer to GET /console (asset None) or GET /console/<asset>, as API Gateway asks."""
    event = sample_event(FUNCTION)
    if asset is not None:
        event["routeKey"] = event["requestContext"]["routeKey"] = "GET /console/{asset+}"
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/console/{asset}"
        event["pathParameters"] = {"asset": asset}  # API Gateway hands it over decoded
    event["headers"].update(headers or {})
    return load_handler(FUNCTION)(event, LambdaContext(aws.physical_name(FUNCTION), 3, 128))


def test_the_page_is_html_that_revalidates_and_runs_only_its_own_code(aws: LocalResources):
    response = get(aws)

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "text/html; charset=utf-8"
    assert response["headers"]["cache-control"] == "no-cache"
    assert "default-src 'self'" in response["headers"]["content-security-policy"]
    assert response["body"] == (ASSETS / "index.html").read_text(encoding="utf-8")


def test_every_file_the_page_loads_is_served_with_its_type(aws: LocalResources):
    # Given the page's own references (relative to /console) and the modules app.js imports
    page = (ASSETS / "index.html").read_text(encoding="utf-8")
    referenced = re.findall(r'(?:src|href)="console/([^"]+)"', page)
    imported = re.findall(r'from "\./([^"]+)"', (ASSETS / "app.js").read_text(encoding="utf-8"))
    assert {"app.js", "style.css"} <= set(referenced) and "api.js" in imported

    for asset in {*referenced, *imported}:
        response = get(aws, asset)
        assert response["statusCode"] == 200, asset
        expected = "text/css" if asset.endswith(".css") else "text/javascript"
        assert response["headers"]["content-type"] == f"{expected}; charset=utf-8"
        assert response["body"] == (ASSETS / asset).read_text(encoding="utf-8")


def test_a_revalidation_with_the_same_etag_is_answered_304_without_a_body(aws: LocalResources):
    etag = get(aws, "app.js")["headers"]["etag"]

    response = get(aws, "app.js", headers={"if-none-match": etag})

    assert response["statusCode"] == 304
    assert response["body"] == ""


@pytest.mark.parametrize(
    "asset",
    [
        "../get.py",
        "../../docs/openapi.json",
        "%2e%2e/get.py",
        "..%2fget.py",
        "/etc/passwd",
        "get.py",
        "missing.js",
    ],
)
def test_a_path_outside_the_assets_or_unknown_is_404_in_parleys_error_shape(aws: LocalResources, asset: str):
    response = get(aws, asset)

    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["type"] == "not_found"
