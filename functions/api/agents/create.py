from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.agents import Agent, CreateAgent
from parley.services import agents

app = api()


@app.post("/v1/agents", status=201)
def create_agent(body: CreateAgent) -> Agent:
    return agents.create(app.principal, body)


handler = lambda_handler(app)
