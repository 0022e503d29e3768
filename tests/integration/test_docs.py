"""GET /v1/openapi.json serves the committed document; GET /docs is Swagger UI pointed at it."""

from __future__ import annotations

import json
import re

from devstack.events import LambdaContext
from devstack.openapi import REPO_ROOT
from devstack.resources import LocalResources
from tests.conftest import load_handler, sample_event


def invoke(aws: LocalResources, logical_id: str) -> dict:
    return load_handler(logical_id)(
        sample_event(logical_id), LambdaContext(aws.physical_name(logical_id), 3, 128)
    )


def test_the_openapi_document_is_served_as_committed_json(aws: LocalResources):
    # Given the document make openapi committed at the repository root
    committed = (REPO_ROOT / "openapi.json").read_text(encoding="utf-8")

    # When the function is asked for it
    response = invoke(aws, "GetOpenApiFunction")

    # Then it answers with exactly those bytes, as cacheable JSON
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    assert "max-age" in response["headers"]["cache-control"]
    assert response["body"] == committed
    assert json.loads(response["body"])["openapi"] == "3.1.0"


def test_the_docs_page_loads_a_pinned_swagger_ui_with_integrity_pointed_at_the_document(aws: LocalResources):
    # When the docs function is asked for its page
    response = invoke(aws, "GetDocsFunction")

    # Then it is HTML that loads a pinned Swagger UI, integrity-checked, reading this API's document
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("text/html")
    page = response["body"]
    assert re.search(
        r'src="https://cdn\.jsdelivr\.net/npm/swagger-ui-dist@\d+\.\d+\.\d+/swagger-ui-bundle\.js"', page
    )
    assert page.count('integrity="sha384-') == 2
    assert 'url: "v1/openapi.json"' in page
