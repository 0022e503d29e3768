from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.api_keys import RevokeQuery
from parley.services import api_keys

app = api()


@app.delete("/v1/api-keys/<key_id>", status=204)
def revoke_api_key(key_id: str, query: RevokeQuery) -> None:
    api_keys.revoke(app.principal, key_id, query)


handler = lambda_handler(app)
