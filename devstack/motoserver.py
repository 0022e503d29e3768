"""The devstack's local AWS: a moto server in a child process, with event-driven SQS long polling.

It runs in its own process so that moto and the handlers (which call it as they would call AWS)
use both cores instead of sharing one interpreter lock. It answers HTTP on its port, and, if started
with a link, the devstack's own DynamoDB, SQS and EventBridge calls on a Unix socket (devstack.awslink).

moto's ``WaitTimeSeconds`` re-checks the queue in a loop that only sleeps while *no* message is
visible: a FIFO queue whose visible messages all belong to groups with a message in flight (what a
failed record leaves behind) makes it spin a core until the poll times out, and a message that
becomes visible again, or a group unblocked by a delete, is only noticed on the next one-second
tick. ``patch_sqs_long_polling`` replaces that loop: each pass is moto's own non-blocking receive,
and between passes the poller sleeps on the queue's condition until a message is added, deleted or
changes visibility, or until the next in-flight/delayed message becomes visible.
"""

from __future__ import annotations

import argparse
import collections
import copy
import functools
import io
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
READY = "moto-ready"


# --------------------------------------------------------------------------------- parent side


class MotoProcess:
    """A moto server child process on 127.0.0.1:``port`` (0 picks a free port); with ``link``, also
    on the Unix socket ``link_path`` (devstack.awslink)."""

    def __init__(self, port: int, startup_timeout: float = 30.0, *, link: bool = False) -> None:
        self.port = port
        self.startup_timeout = startup_timeout
        self.link = link
        self.link_path: str | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        """Start the server, wait until it listens, return its endpoint URL."""
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")])),
        }
        command = [sys.executable, "-m", "devstack.motoserver", "--port", str(self.port)]
        if self.link:
            self.link_path = os.path.join(tempfile.mkdtemp(prefix="parley-aws-"), "link.sock")
            command += ["--link", self.link_path]
        # stdin stays open for the child's lifetime: its EOF tells the child that we are gone.
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.port = self._read_ready_port()
        return self.endpoint

    def _read_ready_port(self) -> int:
        assert self._process is not None
        assert self._process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            if not selector.select(self.startup_timeout):
                self.stop()
                raise RuntimeError(f"moto server did not start within {self.startup_timeout} s")
        line = self._process.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != READY:
            self.stop()
            raise RuntimeError(f"moto server failed to start (exit code {self._process.poll()})")
        return int(line[1])

    def stop(self, timeout: float = 2.0) -> None:
        process, self._process = self._process, None
        if self.link_path:
            shutil.rmtree(os.path.dirname(self.link_path), ignore_errors=True)
        if process is None:
            return
        if process.stdin:
            process.stdin.close()
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
        if process.stdout:
            process.stdout.close()


# ---------------------------------------------------------------------------------- child side


def patch_sqs_long_polling() -> None:
    """Make moto's SQS ``WaitTimeSeconds`` event-driven (see the module docstring)."""
    from moto.sqs import models

    original_receive = models.SQSBackend.receive_message
    original_delete = models.Queue.delete_message
    original_change_visibility = models.SQSBackend.change_message_visibility

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        queue = self.get_queue(queue_name)
        deadline = time.monotonic() + wait_seconds_timeout
        passed_again = False
        while True:
            # moto checks visibility and marks a message received in two steps: held by one receive at
            # a time, two concurrent pollers cannot both take a message, or two messages of one group.
            with queue._messages_lock:
                result = original_receive(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            remaining = deadline - time.monotonic()
            if result or remaining <= 0:
                return result
            with queue._messages_lock:
                ready, next_change = _queue_state(queue)
                if ready and not passed_again:
                    passed_again = True  # a message arrived between the pass and the lock
                    continue
                # Still "ready" after a second empty pass: something moto declines to hand out
                # (an edge of its own rules): look again shortly rather than spin.
                queue._messages_lock.wait(min(remaining, 0.01 if ready else next_change))
            passed_again = False

    def delete_message(self: Any, receipt_handle: str) -> None:
        original_delete(self, receipt_handle)
        _notify(self)  # a deleted FIFO message may unblock its group for a waiting poller

    def change_message_visibility(
        self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        original_change_visibility(self, queue_name, receipt_handle, visibility_timeout)
        _notify(self.get_queue(queue_name))

    # Every visibility check asks the time through datetime arithmetic; the counts SQS reports on
    # each SendMessage make that a cost per queued message. The same number, from time.time().
    general_unix_time, general_unix_time_millis = models.unix_time, models.unix_time_millis
    models.unix_time = lambda dt=None: time.time() if dt is None else general_unix_time(dt)
    models.unix_time_millis = lambda dt=None: (
        time.time() * 1000.0 if dt is None else general_unix_time_millis(dt)
    )

    models.SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    models.Queue.delete_message = delete_message  # type: ignore[method-assign]
    models.SQSBackend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]


def patch_moto_overheads() -> None:
    """Memoize what moto recomputes on every request, and stop Query from sorting the whole table.

    Each is invisible to callers: the same answers, computed once (or over one partition).
    Without them a request costs moto milliseconds more, and a base-table Query grows with the size
    of the table (moto sorts every item, then keeps one partition), which a long session feels.
    """
    from moto import backends
    from moto.core import responses
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    modules = tuple(backends.list_of_moto_modules())  # a directory listing, per request, under a lock
    backends.list_of_moto_modules = lambda: modules
    responses.method_names_from_class = functools.cache(responses.method_names_from_class)

    partition_scope = threading.local()
    original_query = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        partition_scope.table = self if index_name is None and hash_key is not None else None
        partition_scope.hash_key = hash_key
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            partition_scope.table = None

    def all_items(self: Any) -> list[Any]:
        if _same(getattr(partition_scope, "table", None), self):
            # A base-table Query keeps only this partition of what all_items returns.
            partitions: list[Any] = (
                [self.items[partition_scope.hash_key]] if partition_scope.hash_key in self.items else []
            )
        else:
            partitions = list(self.items.values())
        items = [item for p in partitions for item in p.values()] if self.range_key_attr else partitions
        # The order moto's own key gives (DynamoType compares by cast_value), computed once per item.
        if self.range_key_attr:
            return sorted(items, key=lambda item: (item.hash_key.cast_value, item.range_key.cast_value))
        return sorted(items, key=lambda item: item.hash_key.cast_value)

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]

    # Every key comparison goes through cast_value, which tests five types before answering a string.
    general_cast_value = vars(DynamoType)["cast_value"].fget
    scalar_types = frozenset({"S", "B", "BOOL"})  # what the general path returns unchanged

    def cast_value(self: Any) -> Any:
        return self.value if self.type in scalar_types else general_cast_value(self)

    DynamoType.cast_value = property(cast_value)  # type: ignore[method-assign,assignment]
    _patch_attribute_value_serializer()


def patch_repeated_work() -> None:
    """Parse each distinct expression once (lex each condition once), size items without moto's generic
    walk, skip unused copies.

    The same answers for less CPU, on what every exchange repeats: the handlers send a handful of
    UpdateExpression strings over and over (moto tokenizes and parses each twice per call); every
    attribute an update sets re-sizes the whole item (moto's 400 KB check, through a recursive walk
    that builds a DynamoType per map entry); UpdateItem deep-copies the item for a stream that the
    table may not have; each PutEvents to a rule target re-parses the same JSONPath strings; and each
    SendMessage converts the queue's attribute names from camel case again.
    """
    import jsonpath_ng.ext
    from moto.dynamodb import comparisons, models
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing import expressions
    from moto.sqs import models as sqs_models

    # Parsed trees are never changed in place: moto's Validator deep-copies one before resolving it.
    update_parser: Any = vars(expressions)["UpdateExpressionParser"]
    parse_update: Any = functools.lru_cache(maxsize=512)(update_parser.make.__func__)
    update_parser.make = classmethod(lambda cls, expression: parse_update(cls, expression))

    # A condition's tokens depend on its text alone; each parse gets fresh ones (with new child lists).
    condition_parser: Any = comparisons.ConditionExpressionParser
    lex_condition = condition_parser._lex_condition_expression
    token_cache: dict[str, tuple[Any, ...]] = {}

    def lex_condition_expression(self: Any) -> Any:
        text = self.condition_expression
        tokens = token_cache.get(text)
        if tokens is None:
            tokens = tuple(lex_condition(self))
            if len(token_cache) < 512:
                token_cache[text] = tokens
        return collections.deque(token._replace(children=[]) for token in tokens)

    condition_parser._lex_condition_expression = lex_condition_expression

    # SQS spells every queue attribute name over again on each SendMessage: a pure string function.
    sqs_models.camelcase_to_underscores = functools.lru_cache(maxsize=256)(
        sqs_models.camelcase_to_underscores
    )

    # jsonpath_ng's parser builds an LALR parser per call; a parsed path is read-only.
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)

    def size(value: Any) -> int:
        """DynamoType.size, computed directly: what moto's 400 KB item limit counts."""
        kind, data = value.type, value.value
        if kind == "S":
            return len(data.encode("utf-8")) if isinstance(data, str) else len(data)
        if kind == "M":  # moto re-wraps each entry (an entry set by an update may be a plain dict)
            return sum(
                len(name.encode("utf-8")) + size(nested if type(nested) is DynamoType else DynamoType(nested))
                for name, nested in data.items()
            )
        if kind == "L":
            return sum(size(nested) for nested in data)
        if kind == "N":
            return len(str(data))
        if kind == "NS":
            return sum(len(str(element)) for element in data)
        if kind in ("SS", "BS"):
            return sum(len(e.encode("utf-8")) if isinstance(e, str) else len(e) for e in data)
        if isinstance(data, bool):  # BOOL, and NULL (whose value is True)
            return 1
        return len(data.encode("utf-8")) if isinstance(data, str) else len(data)  # B

    DynamoType.size = size  # type: ignore[method-assign,assignment]

    original_update = models.DynamoDBBackend.update_item

    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        # The deep copy it makes of the item feeds the table's stream alone.
        _update_copies.skip = self.get_table(table_name).stream_shard is None
        try:
            return original_update(self, table_name, *args, **kwargs)
        finally:
            _update_copies.skip = False

    models.DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    _UpdateCopies.item_type = Item


class _UpdateCopies(threading.local):
    """``skip`` (per thread) while UpdateItem runs on a table without a stream; see TableCopySkipped."""

    skip = False
    item_type: type = type(None)  # moto's Item, once patch_repeated_work has run (all threads)


_update_copies = _UpdateCopies()


def patch_dynamodb_transactions() -> None:
    """Make DynamoDB calls atomic and transactions cheap, as they are in DynamoDB.

    moto's backend has no lock: on the threaded server two conditional writes can both pass their
    check (a turn claimed twice). And TransactWriteItems deep-copies every table it touches before
    each call, to restore it on failure: a cost that grows with the table, and a restore that
    drops whatever other calls wrote meanwhile. Here every DynamoDB call holds one lock, and a
    transaction snapshots only the items it names, restoring those alone if it fails.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original_call_action = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original_call_action(self)

    in_transaction = threading.local()
    real_copy = models.copy

    class TableCopySkipped:
        """moto's DynamoDB models' ``copy``: a transaction's whole-table backup is the table itself, and
        (with patch_repeated_work) UpdateItem's stream copy of an item, on a table without one, the item."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if getattr(in_transaction, "active", False) and isinstance(value, Table):
                return value
            if _update_copies.skip and isinstance(value, _UpdateCopies.item_type):
                return value  # UpdateItem's copy for a stream the table does not have
            return real_copy.deepcopy(value, memo)

    original_transact = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots = [snapshot for item in transact_items if (snapshot := _item_snapshot(self, item))]
        # A cancelled transaction leaves no stream records either (moto's table restore dropped them).
        streams = {id(shard): (shard, len(shard.items)) for t, *_ in snapshots if (shard := t.stream_shard)}
        in_transaction.active = True
        try:
            original_transact(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, item in reversed(snapshots):
                _restore(table, hash_key, range_key, item)
            for shard, length in streams.values():
                del shard.items[length:]
            raise
        finally:
            in_transaction.active = False

    models.copy = TableCopySkipped  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def _item_snapshot(backend: Any, entry: dict[str, Any]) -> tuple[Any, Any, Any, Any] | None:
    """(table, hash key, range key, a copy of the item or None) for one transaction entry."""
    try:
        operation = next(iter(entry.values()))
        table = backend.get_table(operation["TableName"])
        key = operation.get("Key") or {
            name: operation["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name
        }
        hash_key, range_key = backend.get_keys_value(table, key)
        return table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))
    except Exception:
        return None  # a malformed entry: moto rejects it before writing anything for it


def _restore(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    partition = table.items[hash_key] if range_key is not None else table.items
    slot = range_key if range_key is not None else hash_key
    if item is None:
        partition.pop(slot, None)
    else:
        partition[slot] = item


def _same(a: object, b: object) -> bool:
    return a is b


# AttributeValue members whose wire form is the stored value (strings, booleans, lists of strings).
_PLAIN_MEMBERS = {"S": str, "N": str, "BOOL": None, "NULL": None}
_PLAIN_LIST_MEMBERS = ("SS", "NS")


def _patch_attribute_value_serializer() -> None:
    """Serialize DynamoDB AttributeValues directly instead of through moto's generic shape walker.

    The walker tries every member of the AttributeValue union, under several spellings, for every
    attribute of every item: about half of what a GetItem costs. The result is the same JSON; any
    value this fast path does not recognise falls back to the walker.
    """
    from moto.core.serialize import BaseJSONSerializer

    generic = BaseJSONSerializer._serialize_type_structure

    def wire(serializer: Any, value: Any) -> Any:
        if not isinstance(value, dict):
            return None
        out: dict[str, Any] = {}
        for member, item in value.items():
            if item is None:
                continue
            if member in _PLAIN_MEMBERS:
                convert = _PLAIN_MEMBERS[member]
                out[member] = convert(item) if convert else item
            elif member in _PLAIN_LIST_MEMBERS:
                out[member] = [str(element) for element in item]
            elif member == "B":
                out[member] = serializer._base64(item)
            elif member == "BS":
                out[member] = [serializer._base64(element) for element in item]
            elif member == "M":
                out[member] = {name: wire(serializer, nested) for name, nested in item.items()}
            elif member == "L":
                out[member] = [wire(serializer, nested) for nested in item]
            else:
                return None
            if member in ("M", "L") and None in (out[member].values() if member == "M" else out[member]):
                return None
        return out

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue":
            fast = wire(self, value)
            if fast is not None:
                self._default_serialize(serialized, fast, shape, key)
                return
        generic(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]


def patch_update_validation() -> None:
    """Validate an UpdateExpression's shape once per expression, and copy its tree without deepcopy.

    moto validates every UpdateItem (and transaction Update) by walking ten processors over a deep
    copy of the parsed tree: about a fifth of what the devstack's local AWS spends per exchange. The
    first three check only the expression itself (one clause of each kind, no overlapping paths, no
    key attribute set), given its attribute names and the table's keys: once those passed for an
    expression, they pass again. The copy (the other processors resolve values into the tree in
    place) is a plain structural one: a tree's nodes hold only their type, children and parent.
    And each processor's map of node types to handlers is built once, not once per node visited.
    """
    from moto.dynamodb.parsing import ast_nodes, validators

    expression_only = (
        validators.ActionCountValidator,
        validators.OverlappingPathsValidator,
        validators.UpdateHashRangeKeyValidator,
    )
    original_validate = validators.UpdateExpressionValidator.validate

    def clone(node: Any, parent: Any = None) -> Any:
        if not isinstance(node, ast_nodes.Node):  # type: ignore[attr-defined]  # moto ships no stubs for it
            return node if node is None or type(node) in (str, int) else copy.deepcopy(node)
        copied = object.__new__(type(node))
        copied.__dict__.update(node.__dict__)
        copied.__dict__.pop(_SHAPES_PASSED, None)
        copied.parent = parent
        if isinstance(node.children, list):
            copied.children = [clone(child, copied) for child in node.children]
        return copied

    def init(
        self: Any,
        expression: Any,
        expression_attribute_names: dict[str, str],
        expression_attribute_values: dict[str, Any],
        item: Any,
        table: Any,
    ) -> None:
        # What moto's __init__ sets, with the tree cloned rather than deep-copied.
        self.expression_attribute_names = expression_attribute_names
        self.expression_attribute_values = expression_attribute_values
        self.item = item
        self.table = table
        self.processors = self.get_ast_processors()
        self.node_to_validate = clone(expression)
        shape = (frozenset((expression_attribute_names or {}).items()), tuple(table.table_key_attrs))
        passed = expression.__dict__.setdefault(_SHAPES_PASSED, set())
        self.parley_shape = (passed, shape)
        if shape in passed:
            self.processors = [p for p in self.processors if not isinstance(p, expression_only)]

    def validate(self: Any) -> Any:
        validated = original_validate(self)
        passed, shape = self.parley_shape
        passed.add(shape)
        return validated

    validators.UpdateExpressionValidator.__init__ = init  # type: ignore[method-assign]
    validators.UpdateExpressionValidator.validate = validate  # type: ignore[method-assign]

    # Each processor rebuilds its map of node types to its own bound methods (a constant dict
    # literal in every one of them) for every node it visits, twice: built once per processor here.
    traverser: Any = ast_nodes.DepthFirstTraverser  # type: ignore[attr-defined]

    def processing_map(self: Any) -> dict[Any, Any]:
        built = self.__dict__.get("parley_processing_map")
        if built is None:
            built = self.__dict__["parley_processing_map"] = self._processing_map()
            self.__dict__["parley_node_types"] = tuple(built)
        return built

    def nodes_to_be_processed(self: Any) -> tuple[Any, ...]:
        processing_map(self)
        return self.__dict__["parley_node_types"]

    def process(self: Any, node: Any) -> Any:
        for node_type, processor in processing_map(self).items():
            if isinstance(node, node_type):
                return processor(node)
        return None

    traverser.nodes_to_be_processed = nodes_to_be_processed
    traverser.process = process


# Set on a parsed UpdateExpression tree (cached by patch_repeated_work): the (attribute names, table
# keys) its shape has been validated with.
_SHAPES_PASSED = "parley_shapes_passed"

# In this order: patch_repeated_work's item-copy skip works through patch_dynamodb_transactions' copy.
PATCHES = (
    patch_sqs_long_polling,
    patch_moto_overheads,
    patch_dynamodb_transactions,
    patch_repeated_work,
    patch_update_validation,
)


def _queue_state(queue: Any) -> tuple[bool, float]:
    """Whether a message can be received now, and the seconds until the next one becomes visible."""
    now = time.time() * 1000
    blocked_groups = {
        message.group_id
        for message in list(queue.pending_messages)
        if queue.fifo_queue and message.group_id and message.visible_at > now
    }
    next_change = float("inf")
    for message in list(queue._messages):
        becomes_ready = max(message.visible_at, message.delayed_until)
        if becomes_ready > now:
            next_change = min(next_change, becomes_ready - now)
        elif message.group_id not in blocked_groups:
            return True, 0.0
    # +1 ms: moto compares visibility with a strict "greater than"
    return False, (next_change + 1) / 1000


def _notify(queue: Any) -> None:
    with queue._messages_lock:
        queue._messages_lock.notify_all()


def link_environ(method: str, path: str, headers: dict[str, str], body: bytes, port: int) -> dict[str, Any]:
    """The WSGI environ werkzeug's server would make of this request, had it come over HTTP."""
    raw_path, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(raw_path),
        "QUERY_STRING": query,
        "RAW_URI": path,
        "REQUEST_URI": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": f"127.0.0.1:{port}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ[key] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    return environ


def serve(port: int, link_path: str | None = None) -> None:
    """Run the moto server until SIGTERM/SIGINT or until the parent closes our stdin."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.events.responses import EventsHandler
    from moto.moto_server.werkzeug_app import (
        BackendRequest,
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.sqs.responses import SQSResponse
    from werkzeug.exceptions import HTTPException
    from werkzeug.serving import make_server

    from devstack.awslink import TARGETS, LinkServer

    # The X-Amz-Target prefix each JSON-protocol service names its operations with.
    direct = dict(
        zip(TARGETS, (DynamoHandler.dispatch, SQSResponse.dispatch, EventsHandler.dispatch), strict=True)
    )

    def dispatcher(target: str) -> Any:
        return next((d for prefix, d in direct.items() if target.startswith(prefix)), None)

    def answer_directly(dispatch: Any, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        """Almost every call the devstack makes is DynamoDB, SQS or EventBridge: handed to moto's
        handler with the request Flask would have made of it, without Flask's routing, request
        context and response object in between, per call."""
        request = BackendRequest(environ)
        try:
            status, headers, content = dispatch(request, request.raw_url, dict(request.headers))
        except HTTPException as exc:  # what the Flask app would have answered for it
            status, headers, content = exc.code or 500, dict(exc.get_headers()), exc.get_body()
        data = content.encode() if isinstance(content, str) else bytes(content)
        kept = {name: str(value) for name, value in headers.items() if name.lower() != "content-length"}
        return int(status), kept, data

    def answer_link_call(
        method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        target = next((value for name, value in headers.items() if name.lower() == "x-amz-target"), "")
        dispatch = dispatcher(target)
        if dispatch is None:  # the link carries only these services' calls
            return 400, {"Content-Type": "application/json"}, b'{"__type": "UnknownOperationException"}'
        return answer_directly(dispatch, link_environ(method, path, headers, body, server.server_port))

    class KeepAliveHandler(MotoRequestHandler):
        """Werkzeug closes every connection, so each AWS call would pay a new TCP connection and a new
        server thread; botocore keeps connections alive, and so does this handler.

        Werkzeug closes because after a response it drains whatever is left to read, which on a kept
        connection would swallow the next request. Here the body is read up front and the application
        (and that drain) get an in-memory copy, so the socket always rests at a request line.
        """

        # Headers and body are separate writes: with Nagle, a kept connection waits for a delayed ACK.
        disable_nagle_algorithm = True

        def handle_one_request(self) -> None:
            connection_stream = self.rfile
            try:
                super().handle_one_request()
            finally:
                self.rfile = connection_stream

        def make_environ(self) -> dict[str, Any]:
            environ = super().make_environ()
            stream = environ["wsgi.input"]
            if environ.get("wsgi.input_terminated"):
                body = stream.read()  # chunked: up to the last chunk
            else:
                body = stream.read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            self.rfile = io.BytesIO()  # what werkzeug's post-response drain reads: nothing
            return environ

        def send_header(self, keyword: str, value: str) -> None:
            if keyword.lower() == "connection" and value.lower() == "close":
                return
            super().send_header(keyword, value)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """Every AWS call would otherwise print a line."""

        def run_wsgi(self) -> None:
            dispatch = dispatcher(self.headers.get("X-Amz-Target", ""))
            if dispatch is None:
                super().run_wsgi()  # S3 (no target header), and whatever else is rare
                return
            status, headers, data = answer_directly(dispatch, self.make_environ())
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    for patch in PATCHES:
        try:
            patch()
        except Exception as exc:  # a moto upgrade moved something: slower, still correct
            print(f"devstack: moto left unpatched ({patch.__name__}: {exc!r})", file=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=KeepAliveHandler)
    if link_path:
        link = LinkServer(link_path, answer_link_call)
        threading.Thread(target=link.serve_forever, name="link", daemon=True).start()

    def shutdown(*_: object) -> None:
        # shutdown() waits for serve_forever() to return: never call it on the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        shutdown()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def shutdown_when_orphaned() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the parent closed the pipe, or died
        shutdown()

    threading.Thread(target=shutdown_when_orphaned, daemon=True).start()
    print(READY, server.server_port, flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nothing else may fill the parent's pipe
    server.serve_forever(poll_interval=0.05)
    server.server_close()
    # Nothing to flush or clean up (the state is in memory by design): skip the interpreter's
    # teardown of moto's many modules, which would add a few hundred ms to every stop.
    sys.stderr.flush()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description="moto server for the Parley devstack")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--link", help="also answer devstack.awslink frames on this Unix socket")
    arguments = parser.parse_args()
    serve(arguments.port, arguments.link)


if __name__ == "__main__":
    main()
