"""GET /docs: Swagger UI for the native API, reading GET /v1/openapi.json."""

from __future__ import annotations

from parley.http import Response, api, lambda_handler

# Pinned, with Subresource Integrity: the CDN can only ever serve these exact bytes
# (hashes of swagger-ui-dist 5.35.0 as published to npm; jsDelivr serves npm files verbatim).
SWAGGER_UI_VERSION = "5.35.0"
_CDN = f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}"
_BUNDLE_INTEGRITY = "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9"
_CSS_INTEGRITY = "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Parley API</title>
  <link rel="stylesheet" href="{_CDN}/swagger-ui.css" integrity="{_CSS_INTEGRITY}" crossorigin="anonymous">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{_CDN}/swagger-ui-bundle.js" integrity="{_BUNDLE_INTEGRITY}" crossorigin="anonymous"></script>
  <script>
    // Relative to /docs, so a stage or base path in front of the API is kept.
    window.ui = SwaggerUIBundle({{ url: "v1/openapi.json", dom_id: "#swagger-ui", deepLinking: true }});
  </script>
</body>
</html>
"""

app = api()


@app.get("/docs", public=True)
def docs() -> Response:
    """Swagger UI, pointed at this API's OpenAPI document."""
    return Response(
        200, PAGE, {"content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=300"}
    )


handler = lambda_handler(app)
