from __future__ import annotations

from parley.compat.shinkai import jobs
from parley.compat.shinkai.wire import shinkai_api
from parley.http import lambda_handler

app = shinkai_api()


@app.post("/v2/change_job_llm_provider")
def change_job_llm_provider(body: jobs.ChangeAgentBody) -> dict[str, str]:
    return jobs.change_agent(app.principal, body)


handler = lambda_handler(app)
