"""Growth (Issue 7 item 5): the cost of a request as a conversation and a workspace grow, in-process
against moto, through the real handlers (bench.inprocess).

* One conversation per size (10, 100, 1,000, 10,000 messages): send a message (and let the worker
  answer it), read the turn, list the messages' first page.
* One workspace per size (10, 100, 1,000, 10,000 conversations): list the conversations' first page,
  create a conversation, send a message into it.

History is bulk-loaded from the items of one real exchange (a user message and its reply, written
by the handlers), cloned with fresh ids into a linear conversation, so the stored shape is exactly
what the service writes; a grown workspace holds clones of a real conversation's #META item (what
the listing index reads). They are put into moto's backend directly: the loading is not measured,
and through the API it would take minutes. Then rounds visit the sizes in a shuffled order (noise
on the shared machine hits every size alike) and each request is measured warm: its latency, its
AWS calls (botocore ``before-call``) and the DynamoDB items those calls returned (``after-call``:
Items, Item, Responses).

A flat count of calls and items is the real proof: DynamoDB bills and serves a Query by the items
it reads, not by the partition's size. Latency is reported two ways: the whole request on moto,
and parley's own time in it (the request minus the time inside AWS calls). moto's Query walks the
whole partition in Python, so its share grows with the conversation where DynamoDB's does not; the
budget (p50 of the largest size over p50 of the smallest, ≤ 1.2) is checked on parley's own time,
with the calls and items flat.

Last, the worker's history load (parley.agent.context.load_history) runs on the 10,000-message
conversation and the items it reads are compared with the agent's ``history_messages`` budget.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.inprocess import Functions, Response, mocked_functions, set_up
from devstack.resources import REGION

CONVERSATION_SIZES = (10, 100, 1_000, 10_000)  # messages in one conversation
WORKSPACE_SIZES = (10, 100, 1_000, 10_000)  # conversations in one workspace
ROUNDS = 30
# The worker answers the sends of every third round (10 turns per size); the others' turns are dropped
# from the queue unanswered (the conversation simply has queued turns), to keep make bench short.
WORKER_EVERY = 3
BUDGET_RATIO = 1.2


@dataclass
class ItemCounter:
    """DynamoDB items returned to parley's clients while ``active`` (botocore's after-call event)."""

    active: bool = False
    items: int = 0

    def install(self) -> None:
        from parley import aws

        aws.session().register("after-call.dynamodb", self._after)

    def _after(self, parsed: dict[str, Any], **kwargs: Any) -> None:
        if not self.active:
            return
        self.items += len(parsed.get("Items", ())) + (1 if parsed.get("Item") else 0)
        responses = parsed.get("Responses")
        if isinstance(responses, dict):  # BatchGetItem: {table: [items]}
            self.items += sum(len(found) for found in responses.values())
        elif isinstance(responses, list):  # TransactGetItems: [{"Item": ...}]
            self.items += sum(1 for found in responses if found.get("Item"))

    @contextmanager
    def counting(self) -> Iterator[ItemCounter]:
        self.items, self.active = 0, True
        try:
            yield self
        finally:
            self.active = False


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    own_seconds: list[float] = field(default_factory=list)  # minus the time inside AWS calls
    calls: list[int] = field(default_factory=list)
    items: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "n": len(self.seconds),
            "p50_ms": round(statistics.median(self.seconds) * 1000, 2),
            "own_p50_ms": round(statistics.median(self.own_seconds) * 1000, 2),
            "calls_p50": statistics.median(self.calls),
            "calls_max": max(self.calls),
            "items_read_p50": statistics.median(self.items),
            "items_read_max": max(self.items),
        }


class Meter:
    def __init__(self, functions: Functions, counter: ItemCounter) -> None:
        self.functions = functions
        self.counter = counter
        self.samples: dict[tuple[str, int], Samples] = {}

    def measure(self, route: str, size: int, request: Callable[[], Any]) -> Any:
        with self.functions.recorder.recording() as calls, self.counter.counting() as counted:
            started = time.perf_counter()
            result = request()
            elapsed = time.perf_counter() - started
        if isinstance(result, Response):
            assert result.status < 400, (route, size, result.status, result.body)
        samples = self.samples.setdefault((route, size), Samples())
        samples.seconds.append(elapsed)
        samples.own_seconds.append(elapsed - sum(call.seconds for call in calls))
        samples.calls.append(len(calls))
        samples.items.append(counted.items)
        return result

    def rows(self, routes: list[str], sizes: tuple[int, ...]) -> list[dict[str, Any]]:
        rows = []
        for route in routes:
            per_size = {size: self.samples[(route, size)].summary() for size in sizes}
            smallest, largest = per_size[sizes[0]], per_size[sizes[-1]]
            ratio = round(largest["own_p50_ms"] / smallest["own_p50_ms"], 2)
            # Items are compared from the second size up: at the smallest a first page is not full yet.
            flat_counts = (
                largest["calls_p50"] <= smallest["calls_p50"]
                and largest["items_read_p50"] <= per_size[sizes[1]]["items_read_p50"]
            )
            rows.append(
                {
                    "route": route,
                    "sizes": {str(size): summary for size, summary in per_size.items()},
                    "own_p50_ratio_largest_smallest": ratio,
                    "p50_ratio_largest_smallest_on_moto": round(largest["p50_ms"] / smallest["p50_ms"], 2),
                    "calls_and_items_flat": flat_counts,
                    "met": ratio <= BUDGET_RATIO and flat_counts,
                }
            )
        return rows


def run(rounds: int = ROUNDS) -> dict[str, Any]:
    started = time.perf_counter()
    _patch_moto()
    with mocked_functions() as functions:
        counter = ItemCounter()
        counter.install()
        workspace = set_up(functions)
        meter = Meter(functions, counter)
        shuffler = random.Random(11)  # a fixed order per run of the bench, not a secret

        exchange = _exchange_items(functions, workspace.key)
        conversations = {
            size: _grown_conversation(functions, workspace.key, exchange, size) for size in CONVERSATION_SIZES
        }
        loaded = time.perf_counter()
        workspaces = {size: _grown_workspace(functions, workspace.key, size) for size in WORKSPACE_SIZES}
        loaded_workspaces = time.perf_counter()

        for number in range(rounds):
            for size in shuffler.sample(CONVERSATION_SIZES, len(CONVERSATION_SIZES)):
                answer = number % WORKER_EVERY == 0
                _conversation_round(functions, meter, workspace.key, conversations[size], size, answer)
            for size in shuffler.sample(WORKSPACE_SIZES, len(WORKSPACE_SIZES)):
                _workspace_round(functions, meter, workspaces[size], size)
        measured = time.perf_counter()

        history = _history_load(functions, counter, workspace, conversations[CONVERSATION_SIZES[-1]])
    return {
        "what": "warm requests in-process against moto as one conversation / one workspace grows; "
        "p50 latency, AWS calls and DynamoDB items read per request",
        "rounds": rounds,
        "budget_ratio": BUDGET_RATIO,
        "conversation": meter.rows(
            ["send message", "get turn", "list messages (first page)", "worker turn"], CONVERSATION_SIZES
        ),
        "workspace": meter.rows(
            ["list conversations (first page)", "create conversation", "send message (new conversation)"],
            WORKSPACE_SIZES,
        ),
        "history": history,
        "seconds": {
            "bulk_load_conversations": round(loaded - started, 1),
            "bulk_load_workspaces": round(loaded_workspaces - loaded, 1),
            "measure": round(measured - loaded_workspaces, 1),
        },
    }


_moto_patched = False


def _patch_moto() -> None:
    """The devstack's moto fixes, without which moto, not parley, grows with the table: its Query
    sorts every item of the table and its TransactWriteItems deep-copies the table on each call.
    Process-wide and permanent (the runner runs this part after the in-process parts it could touch)."""
    global _moto_patched
    if not _moto_patched:
        from devstack.motoserver import patch_dynamodb_transactions, patch_moto_overheads

        patch_moto_overheads()
        patch_dynamodb_transactions()
        _moto_patched = True


# -- bulk loading -------------------------------------------------------------------------------
@dataclass
class Exchange:
    """The items of one real conversation after one answered message, as the handlers wrote them."""

    conversation_id: str
    meta: dict[str, Any]
    others: list[dict[str, Any]]  # sentinels and such: cloned as they are
    user: dict[str, Any]
    reply: dict[str, Any]
    turn: dict[str, Any]


def _exchange_items(functions: Functions, key: str) -> Exchange:
    from parley.store import table

    conversation = functions.http("CreateConversationFunction", key=key, body={}).body["id"]
    sent = functions.http(
        "SendMessageFunction",
        key=key,
        path={"conversation_id": conversation},
        body={"content": "hello there"},
    )
    assert sent.status == 202, sent.body
    functions.run_turns()
    workspace_id = sent.body["message"]["workspace_id"]
    from parley.store.conversations import conversation_pk

    items = table.query(conversation_pk(workspace_id, conversation), limit=100).items
    by_sk = {item["SK"]: item for item in items}
    turn = next(item for item in items if item["SK"].startswith("T#") and item.get("status") == "completed")
    user = by_sk["M#" + turn["request_message_id"]]
    reply = by_sk["M#" + turn["reply_message_id"]]
    meta = by_sk["#META"]
    others = [item for item in items if item is not meta and item not in (user, reply, turn)]
    return Exchange(conversation, meta, others, user, reply, turn)


def _clone(item: dict[str, Any], replacements: dict[str, str]) -> dict[str, Any]:
    text = json.dumps(item)
    for old, new in replacements.items():
        text = text.replace(old, new)
    cloned: dict[str, Any] = json.loads(text)
    return cloned


def _put_directly(items: list[dict[str, Any]]) -> None:
    """Items straight into moto's DynamoDB backend, serialised as parley's store does."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from parley.store import table

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    for item in items:
        backend.put_item(table.table_name(), table.to_item(item))


def _grown_conversation(functions: Functions, key: str, exchange: Exchange, size: int) -> str:
    """A new conversation (made by the API) holding ``size`` messages: size/2 answered exchanges."""
    from parley import ids

    conversation = functions.http("CreateConversationFunction", key=key, body={}).body["id"]
    base = {exchange.conversation_id: conversation}
    start_ms = int(time.time() * 1000) - size * 10
    parent: str | None = None
    puts: list[dict[str, Any]] = [_clone(item, base) for item in exchange.others]
    for index in range(size // 2):
        at = start_ms + index * 10
        user_id, reply_id = "msg_" + ids.ulid(at), "msg_" + ids.ulid(at + 2)
        turn_id = "turn_" + ids.ulid(at + 1)
        ids_now = {
            **base,
            exchange.user["id"]: user_id,
            exchange.turn["id"]: turn_id,
            exchange.reply["id"]: reply_id,
        }
        user = _clone(exchange.user, ids_now)
        user.pop("parent_pending", None)  # settled, as an older message is
        user.update(parent_message_id=parent, parent_defaulted=parent is None)
        puts += [user, _clone(exchange.reply, ids_now)]
        parent = reply_id
    meta = _clone(exchange.meta, base)
    meta.pop("pending_parents", None)
    meta.update(leaf_message_id=parent, message_count=size, open_turns=0)
    _put_directly([*puts, meta])
    return conversation


@dataclass
class GrownWorkspace:
    key: str
    workspace_id: str


def _grown_workspace(functions: Functions, admin_key: str, size: int) -> GrownWorkspace:
    """A new workspace (made by the API) holding ``size`` conversations, and a key that acts in it."""
    from parley import ids
    from parley.store import table
    from parley.store.conversations import conversation_pk

    created = functions.http("CreateWorkspaceFunction", key=admin_key, body={"name": f"growth {size}"})
    assert created.status == 201, created.body
    workspace_id = created.body["id"]
    key = f"bench-growth-{size}"
    context = dict(functions.authorize("ListConversationsFunction", admin_key))
    functions.grant(key, {**context, "workspace_id": workspace_id, "deployment_admin": "false"})
    template = functions.http("CreateConversationFunction", key=key, body={}).body["id"]
    meta = table.get(conversation_pk(workspace_id, template), "#META")
    assert meta is not None
    start_ms = int(time.time() * 1000) - size * 10
    clones = [
        _clone(meta, {template: "conv_" + ids.ulid(start_ms + index * 10)}) for index in range(size - 1)
    ]
    _put_directly(clones)
    return GrownWorkspace(key, workspace_id)


# -- the rounds ---------------------------------------------------------------------------------
def _conversation_round(
    functions: Functions, meter: Meter, key: str, conversation: str, size: int, answer: bool
) -> None:
    path = {"conversation_id": conversation}
    sent = meter.measure(
        "send message",
        size,
        lambda: functions.http("SendMessageFunction", key=key, path=path, body={"content": "and then?"}),
    )
    turn = {**path, "turn_id": sent.body["turn"]["id"]}
    meter.measure("get turn", size, lambda: functions.http("GetTurnFunction", key=key, path=turn))
    meter.measure(
        "list messages (first page)", size, lambda: functions.http("ListMessagesFunction", key=key, path=path)
    )
    (record,) = functions.turn_records()
    if not answer:
        return
    result = meter.measure(
        "worker turn", size, lambda: functions.call("RunTurnFunction", {"Records": [record]})
    )
    assert not result.get("batchItemFailures"), result


def _workspace_round(functions: Functions, meter: Meter, workspace: GrownWorkspace, size: int) -> None:
    key = workspace.key
    meter.measure(
        "list conversations (first page)", size, lambda: functions.http("ListConversationsFunction", key=key)
    )
    created = meter.measure(
        "create conversation", size, lambda: functions.http("CreateConversationFunction", key=key, body={})
    )
    path = {"conversation_id": created.body["id"]}
    meter.measure(
        "send message (new conversation)",
        size,
        lambda: functions.http("SendMessageFunction", key=key, path=path, body={"content": "hello"}),
    )
    functions.turn_records()  # received and deleted: the worker's cost is measured on the conversation side


def _history_load(
    functions: Functions, counter: ItemCounter, workspace: Any, conversation: str
) -> dict[str, Any]:
    """load_history on the largest conversation, for its newest request: items read vs the budget."""
    from parley.agent.context import load_history
    from parley.store import table
    from parley.store.conversations import conversation_pk

    agent = functions.http("GetAgentFunction", key=workspace.key, path={"agent_id": workspace.agent_id}).body
    budget = int(agent["history_messages"])
    newest_user = next(
        item
        for item in table.query(
            conversation_pk(workspace.workspace_id, conversation), sk_prefix="M#", newest_first=True, limit=10
        ).items
        if item.get("role") == "user"
    )
    with functions.recorder.recording() as calls, counter.counting() as counted:
        history = load_history(
            workspace.workspace_id,
            conversation,
            newest_user["id"],
            max_messages=budget,
            max_chars=int(agent.get("history_chars", 24_000)),
        )
    return {
        "conversation_messages": CONVERSATION_SIZES[-1],
        "history_messages_budget": budget,
        "messages_given_to_the_model": len(history.messages),
        "items_read": counted.items,
        "aws_calls": len(calls),
        "met": counted.items <= budget,
    }


def table(result: dict[str, Any]) -> str:
    lines = []
    for title, key, sizes in (
        ("one conversation, messages", "conversation", CONVERSATION_SIZES),
        ("one workspace, conversations", "workspace", WORKSPACE_SIZES),
    ):
        header = " | ".join(f"{size:,}" for size in sizes)
        lines += [
            f"{title}: p50 ms on moto / parley's own p50 ms (AWS calls / items read) per size, "
            f"{result['rounds']} warm requests each",
            "",
            f"| route | {header} | own p50 ratio (≤ {result['budget_ratio']}) | flat calls and items | met |",
            "| --- | " + " | ".join("---" for _ in sizes) + " | --- | --- | --- |",
        ]
        for row in result[key]:
            cells = " | ".join(
                f"{row['sizes'][str(size)]['p50_ms']} / {row['sizes'][str(size)]['own_p50_ms']} "
                f"({row['sizes'][str(size)]['calls_p50']:g} / "
                f"{row['sizes'][str(size)]['items_read_p50']:g})"
                for size in sizes
            )
            lines.append(
                f"| {row['route']} | {cells} | {row['own_p50_ratio_largest_smallest']} "
                f"| {'yes' if row['calls_and_items_flat'] else 'NO'} | {'yes' if row['met'] else 'NO'} |"
            )
        lines.append("")
    history = result["history"]
    lines.append(
        f"history load on a {history['conversation_messages']:,}-message conversation: "
        f"{history['items_read']} items read in {history['aws_calls']} AWS calls for a budget of "
        f"{history['history_messages_budget']} messages ({history['messages_given_to_the_model']} given to "
        f"the model): {'met' if history['met'] else 'NOT met'}"
    )
    lines.append(f"seconds: {result['seconds']}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(run()))
