"""The single table: one client per cold start, item (de)serialisation, shared operations."""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from parley import errors
from parley.config import settings

LISTING_INDEX = "Listing"
OPEN_TURNS_INDEX = "OpenTurns"


@cache
def client() -> Any:
    from botocore.config import Config

    from parley import aws

    # Every request is built by this package's own helpers, and DynamoDB validates each one anyway:
    # botocore's client-side walk of the parameters (a third of a transaction's in-handler time) is
    # skipped.
    return aws.client("dynamodb", config=Config(parameter_validation=False))


def table_name() -> str:
    return settings().table


# -- attribute values -----------------------------------------------------------------------
def to_attribute(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(v) for v in value]}
    raise TypeError(f"cannot store a {type(value).__name__}")


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    kind, value = next(iter(attribute.items()))
    if kind == "S" or kind == "B":
        return value
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    if kind == "L":
        return [from_attribute(v) for v in value]
    if kind == "SS":
        return list(value)
    raise TypeError(f"unexpected attribute type {kind}")


def to_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_attribute(v) for k, v in item.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: from_attribute(v) for k, v in item.items()}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


# -- operations -----------------------------------------------------------------------------
def get(pk: str, sk: str, *, consistent: bool = False) -> dict[str, Any] | None:
    response = client().get_item(TableName=table_name(), Key=key(pk, sk), ConsistentRead=consistent)
    item = response.get("Item")
    return from_item(item) if item else None


@dataclass
class Page:
    items: list[dict[str, Any]]
    cursor: str | None
    # The items of ``markers`` the page's range held, by sort key (not counted in ``items``).
    markers: dict[str, dict[str, Any]] = field(default_factory=dict)


def query(
    partition: str,
    *,
    sk_prefix: str | None = None,
    sk_between: tuple[str, str] | None = None,
    markers: Collection[str] = (),
    index: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    newest_first: bool = False,
    consistent: bool = False,
    lookahead: bool = True,
) -> Page:
    """One page of a partition (of the table or of an index), with an opaque cursor for the next one.

    ``markers`` are sort keys inside the range that are not listed items (a conversation's #META, the
    sentinel at the end of its messages): the page reports the ones it met, so that one query both
    lists and proves what the markers prove (the conversation exists), and they never count as items.

    ``lookahead`` reads one item more than ``limit``, so a cursor is given only when a next page has
    items (what a client listing wants); without it exactly ``limit`` items are read and the cursor is
    DynamoDB's own, which may lead to an empty page (what a reader counting its reads wants).
    """
    pk_name, sk_name = (
        ("ListPK", "ListSK")
        if index == LISTING_INDEX
        else (("OpenTurnPK", "OpenTurnSK") if index == OPEN_TURNS_INDEX else ("PK", "SK"))
    )
    condition = "#pk = :pk"
    values: dict[str, Any] = {":pk": {"S": partition}}
    names = {"#pk": pk_name}
    if sk_prefix:
        condition += " AND begins_with(#sk, :prefix)"
        values[":prefix"] = {"S": sk_prefix}
        names["#sk"] = sk_name
    elif sk_between:
        condition += " AND #sk BETWEEN :low AND :high"
        values[":low"], values[":high"] = {"S": sk_between[0]}, {"S": sk_between[1]}
        names["#sk"] = sk_name
    request: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        # One more than asked: if it comes back there is a next page (a cursor never leads nowhere);
        # and room for every marker the range may hold.
        "Limit": limit + (1 if lookahead else 0) + len(markers),
        "ScanIndexForward": not newest_first,
    }
    if index:
        request["IndexName"] = index
    elif consistent:
        request["ConsistentRead"] = True
    if cursor:
        request["ExclusiveStartKey"] = decode_cursor(cursor, partition, pk_name)
    response = client().query(**request)
    raw_items = response.get("Items", [])
    found: dict[str, dict[str, Any]] = {}
    if markers:
        listed = []
        for raw in raw_items:
            sort_key = raw.get(sk_name, {}).get("S")
            if sort_key in markers:
                found[sort_key] = raw
            else:
                listed.append(raw)
        raw_items = listed
    next_cursor = None
    if len(raw_items) > limit:
        raw_items = raw_items[:limit]
        key_names = {"PK", "SK", pk_name, sk_name}
        next_cursor = encode_cursor({k: v for k, v in raw_items[-1].items() if k in key_names}, partition)
    elif not lookahead and response.get("LastEvaluatedKey"):
        next_cursor = encode_cursor(response["LastEvaluatedKey"], partition)
    return Page(
        items=[from_item(item) for item in raw_items],
        cursor=next_cursor,
        markers={sk: from_item(item) for sk, item in found.items()},
    )


def query_all(
    partition: str, *, sk_prefix: str, consistent: bool = False, page_size: int = 100
) -> Iterator[dict[str, Any]]:
    """Every item of the partition under the prefix, page by page (for small, bounded sets: a
    workspace's webhooks, shares, a folder's links)."""
    cursor: str | None = None
    while True:
        page = query(partition, sk_prefix=sk_prefix, limit=page_size, cursor=cursor, consistent=consistent)
        yield from page.items
        cursor = page.cursor
        if cursor is None:
            return


class ConditionFailed(Exception):
    """A conditional write lost: the item is gone, or not in the state the write required."""


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else).

    Matched by code, not by ``client.exceptions.X``: those classes belong to the session that made
    the client, and two threads making a process's first client can end up with two sessions."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def lost_condition(exc: BaseException) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


def update(pk: str, sk: str, **kwargs: Any) -> dict[str, Any]:
    """Update one item conditionally (arguments as ``update_op``) and return it as it is now.

    Raises ConditionFailed when the condition (by default: the item exists) does not hold."""
    body = update_op(pk, sk, **kwargs)["Update"]
    try:
        response = client().update_item(TableName=table_name(), ReturnValues="ALL_NEW", **body)
    except Exception as exc:
        if lost_condition(exc):
            raise ConditionFailed() from exc
        raise
    return from_item(response["Attributes"])


def set_or_remove(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``update``/``update_op`` arguments for a partial change where a None value removes the field."""
    return {
        "set_fields": {k: v for k, v in changes.items() if v is not None},
        "remove": [k for k, v in changes.items() if v is None],
    }


Path = str | tuple[str, ...]  # an attribute, or a path into maps: ("pending_parents", "msg_…")


def update_parts(
    set_fields: Mapping[str, Any] | None = None,
    add: Mapping[str, int] | None = None,
    remove: Iterable[Path] = (),
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    copies: Mapping[Path, str] | None = None,
) -> dict[str, Any]:
    """UpdateExpression, names and values for SET / ADD / REMOVE of attributes (by name or map path).

    ``copies`` sets a path to another attribute's value as the item had it before this update: what a
    write that cannot read first uses to keep an old value (a conversation's leaf before a new one)."""
    all_names = dict(names or {})
    all_values = {k: to_attribute(v) for k, v in (values or {}).items()}

    def path_expression(token: str, path: Path) -> str:
        parts = (path,) if isinstance(path, str) else path
        for i, part in enumerate(parts):
            all_names[f"#{token}_{i}"] = part
        return ".".join(f"#{token}_{i}" for i in range(len(parts)))

    clauses = []
    for verb, fields in (("SET", set_fields or {}), ("ADD", add or {})):
        parts = []
        for i, (name, value) in enumerate(fields.items()):
            token = f"{verb[0].lower()}{i}"
            all_names[f"#{token}"] = name
            all_values[f":{token}"] = to_attribute(value)
            parts.append(f"#{token} = :{token}" if verb == "SET" else f"#{token} :{token}")
        if verb == "SET":
            for i, (target, source) in enumerate((copies or {}).items()):
                parts.append(f"{path_expression(f'c{i}', target)} = {path_expression(f'f{i}', source)}")
        if parts:
            clauses.append(f"{verb} " + ", ".join(parts))
    removed = [path_expression(f"r{i}", path) for i, path in enumerate(remove)]
    if removed:
        clauses.append("REMOVE " + ", ".join(removed))
    expression: dict[str, Any] = {
        "UpdateExpression": " ".join(clauses),
        "ExpressionAttributeNames": all_names,
    }
    if all_values:
        expression["ExpressionAttributeValues"] = all_values
    return expression


def transact(operations: Iterable[Mapping[str, Any]]) -> None:
    """Write all or nothing. Raises TransactionCancelled with the per-operation reasons."""
    items = [_with_table(op) for op in operations]
    try:
        client().transact_write_items(TransactItems=items)
    except Exception as exc:
        if error_code(exc) != "TransactionCanceledException":
            raise
        cancellations = getattr(exc, "response", {}).get("CancellationReasons", [])
        reasons = [r.get("Code", "None") for r in cancellations]
        raise TransactionCancelled(reasons) from exc


class TransactionCancelled(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons

    def failed_at(self, position: int) -> bool:
        return position < len(self.reasons) and self.reasons[position] == "ConditionalCheckFailed"


def _with_table(operation: Mapping[str, Any]) -> dict[str, Any]:
    ((kind, body),) = operation.items()
    return {kind: {"TableName": table_name(), **body}}


def put_op(item: Mapping[str, Any], condition: str | None = None, **expression: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Item": to_item(item)}
    if condition:
        body["ConditionExpression"] = condition
    body.update(_expression(**expression))
    return {"Put": body}


def update_op(
    pk: str,
    sk: str,
    *,
    set_fields: Mapping[str, Any] | None = None,
    add: Mapping[str, int] | None = None,
    remove: Iterable[Path] = (),
    condition: str | None = "attribute_exists(PK)",
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    copies: Mapping[Path, str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Key": key(pk, sk),
        **update_parts(set_fields, add, remove, names, values, copies),
    }
    if condition:
        body["ConditionExpression"] = condition
    return {"Update": body}


def delete_op(pk: str, sk: str, condition: str | None = None, **expression: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": key(pk, sk)}
    if condition:
        body["ConditionExpression"] = condition
    body.update(_expression(**expression))
    return {"Delete": body}


def condition_check_op(pk: str, sk: str, condition: str, **expression: Any) -> dict[str, Any]:
    return {
        "ConditionCheck": {"Key": key(pk, sk), "ConditionExpression": condition, **_expression(**expression)}
    }


def _expression(
    names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if names:
        out["ExpressionAttributeNames"] = dict(names)
    if values:
        out["ExpressionAttributeValues"] = {k: to_attribute(v) for k, v in values.items()}
    return out


# -- cursors --------------------------------------------------------------------------------
# A cursor names the partition it pages through; one minted for another partition (and so for
# another workspace, since every partition key starts with the workspace) is refused.
def encode_cursor(last_key: Mapping[str, Any], partition: str) -> str:
    payload = json.dumps({"p": partition, "k": last_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, partition: str, pk_name: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        last_key = payload["k"]
        valid = (
            payload["p"] == partition
            and isinstance(last_key, dict)
            and last_key.get(pk_name) == {"S": partition}
            and all(isinstance(v, dict) and set(v) <= {"S", "N"} for v in last_key.values())
        )
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise errors.BadRequest("The cursor is not valid for this listing.")
    return last_key


def get_many(pk: str, sort_keys: list[str], *, consistent: bool = False) -> dict[str, dict[str, Any]]:
    """Several items of one partition in one call, by sort key (missing ones are simply absent)."""
    response = client().batch_get_item(
        RequestItems={
            table_name(): {"Keys": [key(pk, sk) for sk in sort_keys], "ConsistentRead": consistent},
        }
    )
    items = [from_item(item) for item in response.get("Responses", {}).get(table_name(), [])]
    return {item["SK"]: item for item in items}


def delete_some(pk: str, count: int) -> int:
    """Delete up to ``count`` (≤ 25) items of a partition; returns how many were found to delete."""
    found = (
        client()
        .query(
            TableName=table_name(),
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ProjectionExpression="PK, SK",
            Limit=count,
        )
        .get("Items", [])
    )
    if found:
        requests = [{"DeleteRequest": {"Key": {"PK": item["PK"], "SK": item["SK"]}}} for item in found]
        pending = {table_name(): requests}
        for _ in range(5):
            unprocessed = client().batch_write_item(RequestItems=pending).get("UnprocessedItems", {})
            if not unprocessed:
                break
            pending = unprocessed
    return len(found)


# -- batches across partitions --------------------------------------------------------------------
# BatchWriteItem takes 25 requests per call, BatchGetItem 100 keys; what a call leaves unprocessed
# (throttling) is sent again with backoff, and still-unprocessed work is an error, never dropped.
_WRITE_BATCH = 25
_READ_BATCH = 100
_BATCH_ATTEMPTS = 8


def batch_write(
    puts: Iterable[Mapping[str, Any]] = (), deletes: Iterable[tuple[str, str]] = (), *, workers: int = 1
) -> None:
    """Put items and delete (PK, SK) keys, unconditionally, in BatchWriteItem calls (``workers`` at once).

    A key must not appear twice across ``puts`` and ``deletes`` (DynamoDB refuses such a batch)."""
    requests = [{"PutRequest": {"Item": to_item(item)}} for item in puts]
    requests += [{"DeleteRequest": {"Key": key(pk, sk)}} for pk, sk in deletes]
    batches = [requests[i : i + _WRITE_BATCH] for i in range(0, len(requests), _WRITE_BATCH)]
    if workers > 1 and len(batches) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(workers, len(batches))) as pool:
            list(pool.map(_write_batch, batches))
    else:
        for batch in batches:
            _write_batch(batch)


def _write_batch(requests: list[dict[str, Any]]) -> None:
    pending: dict[str, Any] = {table_name(): requests}
    for attempt in range(_BATCH_ATTEMPTS):
        pending = client().batch_write_item(RequestItems=pending).get("UnprocessedItems", {})
        if not pending:
            return
        _backoff(attempt)
    raise RuntimeError(f"BatchWriteItem left {len(pending.get(table_name(), []))} requests unprocessed")


def batch_get(
    keys: Iterable[tuple[str, str]], *, projection: Iterable[str] = (), consistent: bool = False
) -> list[dict[str, Any]]:
    """Items by (PK, SK), from any partitions (missing ones are absent); ``projection`` names the
    attributes to read (all when empty)."""
    unique = list(dict.fromkeys(keys))
    options: dict[str, Any] = {"ConsistentRead": consistent}
    projected = list(projection)
    if projected:
        names = {f"#p{i}": name for i, name in enumerate(projected)}
        options["ProjectionExpression"] = ", ".join(names)
        options["ExpressionAttributeNames"] = names
    found: list[dict[str, Any]] = []
    for start in range(0, len(unique), _READ_BATCH):
        pending: dict[str, Any] = {
            table_name(): {"Keys": [key(pk, sk) for pk, sk in unique[start : start + _READ_BATCH]], **options}
        }
        for attempt in range(_BATCH_ATTEMPTS):
            response = client().batch_get_item(RequestItems=pending)
            found.extend(from_item(item) for item in response.get("Responses", {}).get(table_name(), []))
            pending = response.get("UnprocessedKeys", {})
            if not pending:
                break
            _backoff(attempt)
        else:
            raise RuntimeError("BatchGetItem left keys unprocessed")
    return found


def _backoff(attempt: int) -> None:
    import random
    import time

    time.sleep(min(1.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.0))
