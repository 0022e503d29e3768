from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.streams import CreateStreamToken, StreamToken
from parley.services import stream_tokens

app = api()


@app.post("/v1/stream-tokens", status=201)
def create_stream_token(body: CreateStreamToken) -> StreamToken:
    return stream_tokens.mint_token(app.principal, body)


handler = lambda_handler(app)
