"""The template's limits: per-route throttling on real routes, and the workspace quota wired through."""

from __future__ import annotations

from typing import Any

from devstack.template import Intrinsic, load_template

TEMPLATE = load_template()


def http_api() -> Any:
    return TEMPLATE.resources["HttpApi"]["Properties"]


def test_every_throttled_route_is_a_route_of_the_api():
    declared = {route.route_key for function in TEMPLATE.functions() for route in function.routes}

    throttled = set(http_api()["RouteSettings"])

    assert throttled
    assert throttled <= declared, throttled - declared


def test_each_throttled_route_sets_both_limits_below_the_default():
    default = http_api()["DefaultRouteSettings"]

    for route_key, limits in http_api()["RouteSettings"].items():
        assert limits["ThrottlingRateLimit"] <= default["ThrottlingRateLimit"], route_key
        assert limits["ThrottlingBurstLimit"] <= default["ThrottlingBurstLimit"], route_key


def test_sending_a_message_is_throttled():
    assert "POST /v1/conversations/{conversation_id}/messages" in http_api()["RouteSettings"]


def test_the_workspace_quota_is_a_parameter_every_function_gets():
    variable = TEMPLATE.function_globals["Environment"]["Variables"]["PARLEY_WORKSPACE_REQUESTS_PER_MINUTE"]

    assert isinstance(variable, Intrinsic) and variable.value == "WorkspaceRequestsPerMinute"
    assert TEMPLATE.parameters["WorkspaceRequestsPerMinute"]["Default"] == 600


def test_the_authorizers_may_update_only_the_quota_counters():
    for logical_id in ("AuthorizerFunction", "CompatAuthorizerFunction"):
        statements = [
            statement
            for policy in TEMPLATE.function(logical_id).properties["Policies"]
            if "Statement" in policy
            for statement in policy["Statement"]
        ]
        assert [s["Action"] for s in statements] == ["dynamodb:UpdateItem"], logical_id
        condition = statements[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert condition == ["W#*#Q#*"]
