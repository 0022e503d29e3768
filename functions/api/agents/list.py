from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.agents import Agent
from parley.models.base import ListQuery, Page
from parley.services import agents

app = api()


@app.get("/v1/agents")
def list_agents(query: ListQuery) -> Page[Agent]:
    return agents.list_agents(app.principal, query)


handler = lambda_handler(app)
