"""Cost model (Issue 7 item 6): the AWS bill per million message exchanges, model tokens excluded.

One exchange: the client sends a message (API Gateway → authorizer → SendMessage), the worker
answers it (SQS FIFO → RunTurn → DynamoDB) and records its event in the workspace's notifications,
and the client reads the turn once, after it completed (API Gateway → authorizer → GetTurn, no long
poll). The workspace has no webhook, so with the template's default (PublishAllEvents=false) the
event is not put on the bus: no EventBridge event, webhook events queue or dispatcher invocation.
If the exchange did publish one, it is dispatched and billed (the rule → SQS → DispatchWebhooks).

Measured, not assumed: one real exchange is run in-process against moto and every AWS call of it
is inspected (botocore before-call/after-call): the DynamoDB items each call writes or returns,
sized as DynamoDB sizes items, give the write and read request units (transactions at 2x, strongly
consistent reads at 1 per 4 KB, eventually consistent at 0.5); the SQS and EventBridge calls and
their payload sizes give their requests; the JSON log lines the functions print give the log bytes.
Durations come from the other parts of the bench when they ran (in-handler time from ``overhead``,
the worker's from ``growth``), plus an assumed in-region latency per AWS call (moto's latency is
not AWS's); memory sizes come from template.yaml. Prices are us-east-1 list prices (constants below).
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.inprocess import Functions, mocked_functions, set_up
from devstack.template import load_template

# Issue 20's budget: a quarter of the 19.29 USD measured before it.
BUDGET_USD_PER_MILLION = 5.0
PRICE_LIST = "AWS us-east-1 list prices as of 2025 (on-demand DynamoDB after the November 2024 cut)"
PRICES = {
    "api_gateway_http_per_million_requests": 1.00,  # first 300 M/month, per 512 KB request
    "lambda_per_million_requests": 0.20,
    "lambda_arm64_per_gb_second": 0.0000133334,  # first 6 B GB-s/month tier
    "dynamodb_per_million_write_request_units": 0.625,
    "dynamodb_per_million_read_request_units": 0.125,
    "sqs_fifo_per_million_requests": 0.50,  # per 64 KB chunk, beyond the free tier
    "sqs_standard_per_million_requests": 0.40,
    "eventbridge_per_million_custom_events": 1.00,  # per 64 KB chunk
    "cloudwatch_logs_per_gb_ingested": 0.50,  # standard log class
}
# In-region p50 latency assumed per AWS call inside a function (the devstack cannot measure AWS).
ASSUMED_CALL_MS = {"dynamodb": 6.0, "dynamodb.TransactWriteItems": 12.0, "sqs": 8.0, "eventbridge": 10.0}
ASSUMED_CALL_MS_DEFAULT = 10.0
# Lambda writes START, END and REPORT lines per invocation (~260 bytes together) besides ours.
PLATFORM_LOG_BYTES_PER_INVOCATION = 260
# Lambda's SQS poller: one ReceiveMessage per batch and one delete per message (RunTurnFunction's
# batch size is 1); the idle long polls of the pollers are a fixed monthly cost, not per exchange.
SQS_POLLER_REQUESTS_PER_MESSAGE = 2
# The dispatcher's queue is a standard one: the rule's send and the poller's receive and delete.
SQS_STANDARD_REQUESTS_PER_EVENT = 1 + SQS_POLLER_REQUESTS_PER_MESSAGE
# When ``overhead``/``growth`` did not run in this bench, parley's own time per invocation (ms).
FALLBACK_OWN_MS = {
    "AuthorizerFunction": 2.0,
    "SendMessageFunction": 8.0,
    "GetTurnFunction": 2.0,
    "DispatchWebhooksFunction": 2.0,
}
FALLBACK_WORKER_OWN_MS = 25.0


# -- DynamoDB item sizes, as DynamoDB counts them ----------------------------------------------
def attribute_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind in ("S", "B"):
        return len(inner.encode()) if isinstance(inner, str) else len(inner)
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + attribute_size(item) + 1 for name, item in inner.items())
    if kind == "L":
        return 3 + sum(attribute_size(item) + 1 for item in inner)
    if kind in ("SS", "BS"):
        return sum(len(item.encode()) if isinstance(item, str) else len(item) for item in inner)
    if kind == "NS":
        return sum(attribute_size({"N": item}) for item in inner)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


# -- what one exchange's calls consume ------------------------------------------------------------
@dataclass
class Consumption:
    wru: float = 0.0
    rru: float = 0.0
    sqs_requests: int = 0
    events: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    call_ms: float = 0.0  # assumed in-region latency of the calls
    item_bytes: dict[str, int] = field(default_factory=dict)  # a typical item of each kind


class Meter:
    """Inspects every AWS call of parley's clients while ``function`` is set."""

    def __init__(self, functions: Functions) -> None:
        from parley import aws

        self.functions = functions
        self.function: str | None = None
        self.by_function: dict[str, Consumption] = {}
        self._params: list[dict[str, Any]] = []
        aws.session().register("before-call", self._before)
        aws.session().register("after-call", self._after)

    def _before(self, params: dict[str, Any], **kwargs: Any) -> None:
        self._params.append(params)

    def _after(self, event_name: str, parsed: dict[str, Any], **kwargs: Any) -> None:
        params = self._params.pop()
        if self.function is None:
            return
        _, service, operation = event_name.split(".", 2)
        spent = self.by_function.setdefault(self.function, Consumption())
        spent.calls[f"{service}.{operation}"] += 1
        spent.call_ms += ASSUMED_CALL_MS.get(
            f"{service}.{operation}", ASSUMED_CALL_MS.get(service, ASSUMED_CALL_MS_DEFAULT)
        )
        body = params.get("body")
        request = json.loads(body) if isinstance(body, bytes | str) and body else {}
        if service == "dynamodb":
            self._dynamodb(spent, operation, request, parsed)
        elif service == "sqs":
            size = len(request.get("MessageBody", "")) if operation == "SendMessage" else 0
            spent.sqs_requests += max(1, math.ceil(size / 65536))
        elif service in ("eventbridge", "events"):
            entries = request.get("Entries", [])
            spent.events += sum(max(1, math.ceil(len(json.dumps(entry)) / 65536)) for entry in entries)

    def _dynamodb(
        self, spent: Consumption, operation: str, request: dict[str, Any], parsed: dict[str, Any]
    ) -> None:
        if operation == "TransactWriteItems":
            for entry in request.get("TransactItems", []):
                ((action, body),) = entry.items()
                if action == "ConditionCheck":
                    spent.rru += 2 * math.ceil(self._stored_size(body) / 4096)
                else:
                    spent.wru += 2 * self._write_units(action, body)
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            spent.wru += self._write_units(operation.removesuffix("Item").capitalize(), request)
        elif operation == "BatchWriteItem":
            for requests in request.get("RequestItems", {}).values():
                for entry in requests:
                    put = entry.get("PutRequest")
                    spent.wru += math.ceil(item_size(put["Item"]) / 1024) if put else 1
        else:  # reads
            factor = 1.0 if request.get("ConsistentRead") else 0.5
            if operation == "GetItem":
                found = [parsed["Item"]] if parsed.get("Item") else []
                spent.rru += factor * max(1, math.ceil(sum(map(_raw_size, found)) / 4096))
            elif operation in ("Query", "Scan"):
                total = sum(_raw_size(item) for item in parsed.get("Items", []))
                spent.rru += factor * max(1, math.ceil(total / 4096))
            elif operation == "BatchGetItem":
                for found in parsed.get("Responses", {}).values():
                    spent.rru += factor * sum(max(1, math.ceil(_raw_size(item) / 4096)) for item in found)
            elif operation == "TransactGetItems":
                for found in parsed.get("Responses", []):
                    spent.rru += 2 * max(1, math.ceil(_raw_size(found.get("Item") or {}) / 4096))

    def _write_units(self, action: str, body: dict[str, Any]) -> int:
        """1 WRU per KB of the larger of the item before and after (DynamoDB's rule)."""
        if action == "Put":
            return max(1, math.ceil(item_size(body["Item"]) / 1024))
        return max(1, math.ceil(self._stored_size(body) / 1024))

    def _stored_size(self, body: dict[str, Any]) -> int:
        """The size of the item a key names, as stored now (read from moto; not a counted call)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        from devstack.resources import REGION

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(body["TableName"])
        key = body["Key"]
        stored = table.get_item(_dynamo_key(key["PK"]), _dynamo_key(key["SK"]) if "SK" in key else None)
        return item_size(stored.to_json()["Attributes"]) if stored else 0


def _dynamo_key(value: dict[str, Any]) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    return DynamoType(value)


def _raw_size(item: dict[str, Any]) -> int:
    """The size of an item botocore has parsed ({"S": "..."} values, bytes for B)."""
    return item_size(item)


# -- one exchange --------------------------------------------------------------------------------
def measure_exchange() -> dict[str, Any]:
    """Run one exchange in-process and return what each function consumed and logged."""
    with mocked_functions() as functions:
        meter = Meter(functions)  # before any client exists: a client copies the session's hooks
        workspace = set_up(functions)
        logged = _LogBytes()
        path = {"conversation_id": workspace.conversation_id}

        def as_function(name: str, call: Any) -> Any:
            meter.function = name
            logged.function = name
            try:
                return call()
            finally:
                meter.function = logged.function = None

        functions.authorize("GetTurnFunction", workspace.key)  # warm every container first
        functions.run_turns()
        while warm_up_events := functions.queue_records("WebhookEventsQueue"):
            functions.call("DispatchWebhooksFunction", {"Records": warm_up_events})
        authorizer_event = functions.authorizer_request("SendMessageFunction", workspace.key, path)
        as_function("AuthorizerFunction", lambda: functions.call("AuthorizerFunction", authorizer_event))
        sent = as_function(
            "SendMessageFunction",
            lambda: functions.http(
                "SendMessageFunction", key=workspace.key, path=path, body={"content": "Hi"}
            ),
        )
        assert sent.status == 202, sent.body
        (record,) = functions.turn_records()
        as_function("RunTurnFunction", lambda: functions.call("RunTurnFunction", {"Records": [record]}))
        # The turn's event goes on the bus only for a workspace with webhooks (or PublishAllEvents):
        # this one has none, so with the template's defaults nothing reaches the dispatcher.
        events = functions.queue_records("WebhookEventsQueue")
        if events:
            dispatch = {"Records": events}
            dispatched = as_function(
                "DispatchWebhooksFunction", lambda: functions.call("DispatchWebhooksFunction", dispatch)
            )
            assert not dispatched.get("batchItemFailures"), dispatched
        turn_path = {**path, "turn_id": sent.body["turn"]["id"]}
        as_function("AuthorizerFunction", lambda: functions.call("AuthorizerFunction", authorizer_event))
        read = as_function(
            "GetTurnFunction", lambda: functions.http("GetTurnFunction", key=workspace.key, path=turn_path)
        )
        assert read.status == 200, read.body
        assert read.body["status"] == "completed", read.body
        sizes = _typical_item_sizes(workspace.workspace_id, workspace.conversation_id)
        logged.close()
    return {"consumption": meter.by_function, "log_bytes": logged.bytes_by_function, "item_bytes": sizes}


class _LogBytes(logging.Handler):
    """Counts the bytes of the JSON log lines parley prints, per function (the logger's own format)."""

    def __init__(self) -> None:
        super().__init__()
        from parley.observability import logger

        self.logger = logger
        self.function: str | None = None
        self.bytes_by_function: Counter[str] = Counter()
        formatter = next((handler.formatter for handler in logger.handlers if handler.formatter), None)
        self.setFormatter(formatter or logging.Formatter())
        self.setLevel(logging.NOTSET)
        logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if self.function is not None:
            self.bytes_by_function[self.function] += len(self.format(record).encode()) + 1

    def close(self) -> None:
        self.logger.removeHandler(self)
        super().close()


def _typical_item_sizes(workspace_id: str, conversation_id: str) -> dict[str, int]:
    from parley.store import table
    from parley.store.conversations import conversation_pk

    items = table.query(conversation_pk(workspace_id, conversation_id), limit=100).items
    sizes: dict[str, int] = {}
    for item in items:
        sk = item["SK"]
        kind = "#META" if sk == "#META" else ("message" if sk.startswith("M#") and "role" in item else None)
        kind = kind or ("turn" if sk.startswith("T#") and "status" in item else None)
        if kind and kind not in sizes:
            sizes[kind] = item_size(table.to_item(item))
    return sizes


# -- the bill --------------------------------------------------------------------------------------
def run(results: dict[str, Any] | None = None) -> dict[str, Any]:
    results = results or {}
    measured = measure_exchange()
    consumption: dict[str, Consumption] = measured["consumption"]
    template = load_template()
    own_ms = _own_ms(results)
    invocations = {
        "AuthorizerFunction": 2,
        "SendMessageFunction": 1,
        "RunTurnFunction": 1,
        "GetTurnFunction": 1,
        "DispatchWebhooksFunction": sum(spent.events for spent in consumption.values()),
    }
    invocations = {function: count for function, count in invocations.items() if count}

    lambda_rows = []
    gb_seconds = 0.0
    for function, count in invocations.items():
        spent = consumption.get(function, Consumption())
        per_call_ms = spent.call_ms / count
        duration_ms = math.ceil(own_ms[function] + per_call_ms)  # Lambda bills by the millisecond
        memory_mb = template.function(function).memory_size
        seconds = count * duration_ms / 1000 * memory_mb / 1024
        gb_seconds += seconds
        lambda_rows.append(
            {
                "function": function,
                "invocations": count,
                "memory_mb": memory_mb,
                "own_ms": round(own_ms[function], 2),
                "assumed_aws_ms": round(per_call_ms, 1),
                "billed_ms": duration_ms,
                "gb_seconds": round(seconds, 6),
                "aws_calls": dict(spent.calls),
            }
        )
    wru = sum(spent.wru for spent in consumption.values())
    rru = sum(spent.rru for spent in consumption.values())
    sqs = sum(spent.sqs_requests for spent in consumption.values()) + SQS_POLLER_REQUESTS_PER_MESSAGE
    events = sum(spent.events for spent in consumption.values())
    sqs_standard = events * SQS_STANDARD_REQUESTS_PER_EVENT
    log_bytes = sum(measured["log_bytes"].values()) + PLATFORM_LOG_BYTES_PER_INVOCATION * sum(
        invocations.values()
    )
    million = 1_000_000
    lines = {
        "API Gateway HTTP API (2 requests)": 2 * PRICES["api_gateway_http_per_million_requests"],
        f"Lambda requests ({sum(invocations.values())} invocations)": sum(invocations.values())
        * PRICES["lambda_per_million_requests"],
        f"Lambda duration ({gb_seconds:.5f} GB-s, arm64)": gb_seconds
        * million
        * PRICES["lambda_arm64_per_gb_second"],
        f"DynamoDB writes ({wru:g} WRU)": wru * PRICES["dynamodb_per_million_write_request_units"],
        f"DynamoDB reads ({rru:g} RRU)": rru * PRICES["dynamodb_per_million_read_request_units"],
        f"SQS FIFO ({sqs} requests: send, receive, delete)": sqs * PRICES["sqs_fifo_per_million_requests"],
        f"SQS standard ({sqs_standard} requests: the event's send, receive, delete)": sqs_standard
        * PRICES["sqs_standard_per_million_requests"],
        f"EventBridge ({events} events)": events * PRICES["eventbridge_per_million_custom_events"],
        f"CloudWatch Logs ({log_bytes} bytes)": log_bytes
        * million
        / 1024**3
        * PRICES["cloudwatch_logs_per_gb_ingested"],
    }
    total = sum(lines.values())
    return {
        "what": "USD per million exchanges (send + worker answer, its event recorded as a notification "
        "+ one read of the turn; the workspace has no webhook, so with PublishAllEvents=false, the "
        "default, the event is not put on the bus), model tokens excluded",
        "price_list": PRICE_LIST,
        "prices": PRICES,
        "assumptions": {
            "aws_call_latency_ms": ASSUMED_CALL_MS,
            "platform_log_bytes_per_invocation": PLATFORM_LOG_BYTES_PER_INVOCATION,
            "sqs_poller_requests_per_message": SQS_POLLER_REQUESTS_PER_MESSAGE,
            "sqs_standard_requests_per_event": SQS_STANDARD_REQUESTS_PER_EVENT,
            "excluded": "model tokens and the worker's wait for the model; cold starts' init time; idle "
            "queue polling; storage; data transfer; the free tiers",
            "own_ms_source": own_ms["source"],
        },
        "per_exchange": {
            "wru": wru,
            "rru": rru,
            "sqs_requests": sqs,
            "sqs_standard_requests": sqs_standard,
            "events": events,
            "log_bytes": log_bytes,
            "log_bytes_by_function": dict(measured["log_bytes"]),
            "item_bytes": measured["item_bytes"],
        },
        "lambda": lambda_rows,
        "usd_per_million_exchanges": {name: round(value, 4) for name, value in lines.items()},
        "usd_per_million_exchanges_total": round(total, 2),
    }


def _own_ms(results: dict[str, Any]) -> dict[str, Any]:
    """parley's own time per invocation (ms): measured by the other parts when they ran."""
    own: dict[str, Any] = dict(FALLBACK_OWN_MS)
    sources = []
    for row in results.get("overhead", {}).get("routes", []):
        if row["function"] in own:
            own[row["function"]] = row["overhead_p50_ms"]
            sources.append("overhead")
    own["RunTurnFunction"] = FALLBACK_WORKER_OWN_MS
    for row in results.get("growth", {}).get("conversation", []):
        if row["route"] == "worker turn":
            smallest = min(row["sizes"], key=int)
            own["RunTurnFunction"] = row["sizes"][smallest]["own_p50_ms"]
            sources.append("growth")
    own["source"] = ", ".join(
        [*sorted(set(sources)), "DispatchWebhooksFunction (when it runs): a fallback constant"]
        if sources
        else ["fallback constants (overhead and growth did not run)"]
    )
    return own


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['what']}; {result['price_list']}",
        "",
        "| item | USD per million exchanges |",
        "| --- | --- |",
        *(f"| {name} | {value:.4f} |" for name, value in result["usd_per_million_exchanges"].items()),
        f"| **total** | **{result['usd_per_million_exchanges_total']:.2f}** |",
        "",
        "| function | invocations | memory MB | own ms | assumed AWS ms | billed ms | AWS calls |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["lambda"]:
        calls = ", ".join(f"{name} x{count}" for name, count in row["aws_calls"].items())
        lines.append(
            f"| {row['function']} | {row['invocations']} | {row['memory_mb']} | {row['own_ms']} "
            f"| {row['assumed_aws_ms']} | {row['billed_ms']} | {calls} |"
        )
    per = result["per_exchange"]
    prices = ", ".join(f"{name} ${value:g}" for name, value in result["prices"].items())
    lines += [
        "",
        f"item bytes: {per['item_bytes']}; log bytes per exchange: {per['log_bytes']} "
        f"({per['log_bytes_by_function']} + platform lines)",
        f"prices assumed: {prices}",
        f"excluded: {result['assumptions']['excluded']}; "
        f"own ms from: {result['assumptions']['own_ms_source']}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(run()))
