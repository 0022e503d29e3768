"""Tools offered only in jobs: ``finish_job`` lets the agent end the job it works on.

The tool runs the same conditional transition as ``POST /v1/jobs/{id}/complete|fail``; what it
returns is read by the model, so refusals are sentences, never exceptions.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from parley import errors
from parley.models.jobs import CompleteJob
from parley.providers.base import ToolSpec
from parley.services import jobs
from parley.tools.toolset import TurnContext, register

FINISH_JOB = ToolSpec(
    name="finish_job",
    description=(
        "End the job you are working on, once its task is done (outcome 'completed') or cannot be "
        "done (outcome 'failed'). The job takes no further messages afterwards."
    ),
    parameters={
        "type": "object",
        "properties": {
            "outcome": {"type": "string", "enum": ["completed", "failed"]},
            "summary": {"type": "string", "description": "What was done, or why it could not be done"},
            "result_link": {
                "type": "string",
                "description": "A link to the result, e.g. the pull request (http or https)",
            },
        },
        "required": ["outcome", "summary"],
    },
)


def _applies(conversation: dict[str, Any], agent: dict[str, Any]) -> bool:
    return conversation.get("kind") == jobs.KIND and conversation.get("status") == "active"


def _finish_job(context: TurnContext, arguments: dict[str, Any]) -> str:
    turn = context.turn
    outcome = arguments.get("outcome")
    if outcome not in ("completed", "failed"):
        return "finish_job needs outcome 'completed' or 'failed'; the job is unchanged."
    summary = arguments.get("summary")
    try:
        # The same rules as the client's endpoint: an http(s) link, bounded text.
        checked = CompleteJob.model_validate(
            {
                "summary": str(summary) if summary is not None else None,
                "result_link": arguments.get("result_link"),
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return f"finish_job arguments are not valid ({problems}); the job is unchanged."
    try:
        jobs.finish(
            turn["workspace_id"],
            turn["conversation_id"],
            outcome,
            summary=checked.summary,
            result_link=checked.result_link if outcome == "completed" else None,
            by="agent",
        )
    except errors.ParleyError as exc:
        return f"The job could not be finished: {exc.message}"
    return f"The job is now {outcome}."


register(FINISH_JOB, _finish_job, _applies)
