"""Shinkai's Tool Offerings over native tool offerings (services.tool_offerings).

A ShinkaiToolOffering is ``{tool_key, usage_type: {"PerUse": <ToolPrice>}, meta_description}``; its
``tool_key`` is the native key (``local:::<toolkit>:::<tool>``, toolkit ``builtin`` or an agent's id,
as GET /v1/tools lists them). Only the ``"Free"`` price works: ``DirectDelegation`` and ``Payment``
are sold over Shinkai's crypto-payment network, which Parley does not run (400).

Where this differs from the node (docs/reference/shinkai.md): a tool or offering that does not exist
is 404 (the node answers 500 with the same message); get_all_tool_offerings leaves out an offering
whose tool was deleted (the node fails the whole listing with 404); get_tool_with_offering,
get_tools_with_offerings and get_agent_network_offering describe tools as other Shinkai nodes call
them over the network, so they answer 400 with the reason.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from parley import errors
from parley.compat.shinkai.job_views import ShinkaiModel
from parley.http import Principal
from parley.models.tool_offerings import SetToolOffering, ToolOffering, UsageType, WorkspaceTool
from parley.services import tool_offerings

PAID_PRICES = ("DirectDelegation", "Payment")
NO_PAYMENT_NETWORK = (
    "Parley does not support Shinkai's payment network: a tool can only be offered for free "
    '(usage_type {"PerUse": "Free"})'
)
NO_NETWORK = (
    "Parley does not support the Shinkai network: {route} describes tools as other Shinkai nodes call "
    "them over it. Offered tools are listed by get_all_tool_offerings."
)
_AUTHOR = "parley"
_VERSION = "1.0.0"


# -- request bodies --------------------------------------------------------------------------------
class ShinkaiToolOfferingBody(ShinkaiModel):
    tool_key: str = Field(max_length=300)
    usage_type: dict[str, Any]
    meta_description: str | None = Field(None, max_length=4096)


class SetToolOfferingBody(ShinkaiModel):
    tool_offering: ShinkaiToolOfferingBody


class ToolKeyBody(ShinkaiModel):
    tool_key_name: str = Field(max_length=300)


class AgentNetworkOfferingBody(ShinkaiModel):
    node_name: str = Field(max_length=300)
    auto_check: bool = True


# -- routes ----------------------------------------------------------------------------------------
def set_tool_offering(principal: Principal, body: SetToolOfferingBody) -> dict[str, Any]:
    offering = body.tool_offering
    _check_free(offering.usage_type)
    native = SetToolOffering(usage_type=UsageType(per_use="free"), meta_description=offering.meta_description)
    try:
        stored = tool_offerings.set_offering(principal, offering.tool_key, native)
    except errors.NotFound as exc:
        raise errors.NotFound("Tool does not exist") from exc
    except errors.ValidationFailed as exc:  # a malformed key names no tool; a built-in is not offered
        detail = exc.details[0]["msg"] if exc.details else exc.message
        if "built-in" in detail:
            raise errors.BadRequest(f"Failed to set tool offering: {detail}") from exc
        raise errors.NotFound("Tool does not exist") from exc
    return {"result": shinkai_offering(stored)}


def get_tool_offering(principal: Principal, body: ToolKeyBody) -> dict[str, Any]:
    try:
        return shinkai_offering(tool_offerings.get_offering(principal, body.tool_key_name))
    except (errors.NotFound, errors.ValidationFailed) as exc:
        raise errors.NotFound(
            f"Failed to retrieve tool offering: Tool offering not found with key: {body.tool_key_name}"
        ) from exc


def remove_tool_offering(principal: Principal, body: ToolKeyBody) -> dict[str, Any]:
    """``{"result": {"removed": offering}}``, or ``{"result": {}}`` if there was none (as the node)."""
    principal.require_admin()
    try:
        removed = tool_offerings.remove_offering(principal, body.tool_key_name)
    except (errors.NotFound, errors.ValidationFailed):
        return {"result": {}}
    return {"result": {"removed": shinkai_offering(removed)}}


def get_all_tool_offerings(principal: Principal) -> list[dict[str, Any]]:
    """ShinkaiToolHeaders of the offered tools that still exist, each with its offering."""
    tools = {tool.key: tool for tool in tool_offerings.list_tools(principal).data}
    return [tool_header(tools[key], offering) for key, offering in _offerings(principal) if key in tools]


def unsupported(route: str) -> None:
    raise errors.BadRequest(NO_NETWORK.format(route=route))


# -- shapes ----------------------------------------------------------------------------------------
def shinkai_offering(offering: ToolOffering) -> dict[str, Any]:
    return {
        "tool_key": offering.tool_key,
        "usage_type": {"PerUse": "Free"},
        "meta_description": offering.meta_description,
    }


def tool_header(tool: WorkspaceTool, offering: ToolOffering | None) -> dict[str, Any]:
    """A native tool as Shinkai's ShinkaiToolHeader (HEAD); Parley's tools have no config to show."""
    parameters = tool.parameters or {}
    properties = parameters.get("properties") if isinstance(parameters.get("properties"), dict) else {}
    required = parameters.get("required") if isinstance(parameters.get("required"), list) else []
    return {
        "name": tool.name,
        "description": tool.description,
        "tool_router_key": tool.key,
        "tool_type": _TOOL_TYPES[tool.kind],
        "formatted_tool_summary_for_ui": (
            f"Tool Name: {tool.name}\nAuthor: {_AUTHOR}\nDescription: {tool.description}"
        ),
        "author": _AUTHOR,
        "version": _VERSION,
        "enabled": True,
        "mcp_enabled": False,
        "input_args": {"type": "object", "properties": properties, "required": required},
        "output_arg": {"json": ""},
        "config": None,
        "usage_type": {"PerUse": "Free"} if offering else None,
        "tool_offering": shinkai_offering(offering) if offering else None,
    }


# Shinkai's tool types: built-ins run in the node (Rust); a Parley MCP definition is one tool of an MCP
# server; HTTP and client tools run outside the node, as a Network tool does.
_TOOL_TYPES = {"builtin": "Rust", "mcp": "MCPServer", "http": "Network", "client": "Network"}


def _offerings(principal: Principal) -> list[tuple[str, ToolOffering]]:
    from parley.models.tool_offerings import ToolOfferingsQuery

    page = tool_offerings.list_offerings(principal, ToolOfferingsQuery())
    return [(offering.tool_key, offering) for offering in page.data if offering.tool is not None]


def _check_free(usage_type: dict[str, Any]) -> None:
    """``{"PerUse": "Free"}``; a paid price is refused with the reason, anything else is a bad body."""
    price = usage_type.get("PerUse") if list(usage_type) == ["PerUse"] else None
    if price == "Free":
        return
    if isinstance(price, dict) and len(price) == 1 and next(iter(price)) in PAID_PRICES:
        raise errors.BadRequest(NO_PAYMENT_NETWORK)
    raise errors.ValidationFailed(
        'usage_type: expected {"PerUse": "Free"}, {"PerUse": {"DirectDelegation": ...}} or '
        '{"PerUse": {"Payment": [...]}}'
    )
