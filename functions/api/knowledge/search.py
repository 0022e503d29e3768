from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.knowledge import SearchKnowledge, SearchResults
from parley.services import knowledge

app = api()


@app.post("/v1/knowledge/search")
def search_knowledge(body: SearchKnowledge) -> SearchResults:
    return knowledge.search(app.principal, body)


handler = lambda_handler(app)
