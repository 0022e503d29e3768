"""Messages: send (and start a turn), edit, regenerate, read, list (by branch), tag and rate.

Sending writes the message, its queued turn and the conversation's new leaf in one transaction,
then queues the turn. If queueing fails after the write, the turn is not lost: the sweeper finds
queued turns past their deadline and queues them again.

A native send does not read the conversation first (one transaction and one SQS message in all): its
status (and kind, for a job) is a condition of the transaction, and a message sent with the default
parent - the leaf, which a transaction cannot read - is stored with ``parent_pending``: the send's
own #META update copies the old leaf into ``pending_parents`` (store.conversations), the 202 answers
``parent_message_id: null, parent_pending: true``, every read resolves it from #META, and the turn
worker writes it into the message. A message that starts no turn and names no parent reads the
conversation instead (still two calls), so its parent is known at once and no turn is needed to settle it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from parley import clock, errors, ids
from parley.http import Principal
from parley.models.base import Page
from parley.models.conversations import Branch, BranchList
from parley.models.messages import (
    Accepted,
    EditMessage,
    Feedback,
    Message,
    MessageListQuery,
    NewMessage,
    ReviseMessage,
    SendMessage,
    UpdateMessage,
)
from parley.observability import logger
from parley.services import branches, queues
from parley.services import turns as turn_service
from parley.store import conversations as conversation_store
from parley.store import messages as store
from parley.store import table
from parley.store import turns as turn_store
from parley.store.conversations import AWAITING_TOOLS, META, PENDING_PARENTS

# A queued turn that has not started by then is queued again by the sweeper.
QUEUED_DEADLINE = timedelta(minutes=5)
# A listing by branch or filter reads at most this many messages of a conversation.
MAX_SCANNED_MESSAGES = 10_000
# Parents still pending on #META that one completing turn writes into their messages (besides its own).
MAX_SETTLED_PER_TURN = 20


def view(message: dict[str, Any]) -> Message:
    feedback = message.get("feedback") or {}
    return Message.model_validate(
        {
            **message,
            "likes": sorted(u for u, r in feedback.items() if r == "like"),
            "dislikes": sorted(u for u, r in feedback.items() if r == "dislike"),
        }
    )


checksum = store.checksum


# -- writing ------------------------------------------------------------------------------------
def send(
    principal: Principal, conversation_id: str, body: SendMessage, *, kind: str | None = None
) -> Accepted:
    """A native send (``kind`` "job": only to a job); see the module's note on what it reads."""
    respond = body.respond and body.role == "user"
    reject_if_busy = body.if_busy == "reject"
    workspace_id = principal.workspace_id
    if respond or body.parent_message_id:
        return _write(
            workspace_id,
            conversation_id,
            None,
            body,
            respond=respond,
            reject_if_busy=reject_if_busy,
            kind=kind,
        )
    conversation = conversation_store.get(workspace_id, conversation_id, consistent=True)
    if conversation is None or (kind and conversation.get("kind") != kind):
        raise _not_found(conversation_id, kind)
    return post(workspace_id, conversation, body, respond=respond, reject_if_busy=reject_if_busy)


def post(
    workspace_id: str,
    conversation: dict[str, Any],
    body: NewMessage,
    *,
    respond: bool,
    reject_if_busy: bool = False,
    parent_message_id: str | None = None,
    agent_id: str | None = None,
    queue: bool = True,
) -> Accepted:
    """Store a message in ``conversation`` (as read by the caller) and, if ``respond``, queue the turn
    that answers it; its default parent is the leaf the caller read.

    Also the entry point of the compat translators, which build a NewMessage from their wire shape.
    ``agent_id`` pins the agent that answers this turn only (Odyssey's per-message ``agentId``).
    ``queue=False`` leaves the turn to a caller that runs it at once (a streamed chat completion, which
    must be the one that runs it): if that caller never does, the sweeper queues it when it is overdue.
    """
    ensure_open(conversation)
    return _write(
        workspace_id,
        conversation["id"],
        conversation,
        body,
        respond=respond,
        reject_if_busy=reject_if_busy,
        parent_message_id=parent_message_id,
        agent_id=agent_id,
        queue=queue,
    )


def _write(
    workspace_id: str,
    conversation_id: str,
    conversation: dict[str, Any] | None,
    body: NewMessage,
    *,
    respond: bool,
    reject_if_busy: bool = False,
    parent_message_id: str | None = None,
    agent_id: str | None = None,
    kind: str | None = None,
    queue: bool = True,
) -> Accepted:
    """The send's one transaction. ``conversation`` None: not read, so a default parent is pending."""
    if body.attachments:
        from parley.services.files import check_attachments  # only messages with attachments pay for it

        check_attachments(workspace_id, body.attachments)
    explicit_parent = parent_message_id or body.parent_message_id
    pending = conversation is None and explicit_parent is None
    now_ms = int(time.time() * 1000)
    now = clock.iso()
    message = _new_message(
        workspace_id, conversation_id, body, now_ms, now, parent_defaulted=explicit_parent is None
    )
    if pending:
        # No parent_message_id attribute at all until it is settled (see store.messages.settle_parent_op).
        message["parent_pending"] = True
    else:
        message["parent_message_id"] = explicit_parent or (conversation or {}).get("leaf_message_id")
    # The turn's id sorts after its message, and its reply's id (derived from it) after both.
    turn = (
        turn_service.new_turn(
            workspace_id, conversation or {"id": conversation_id}, message["id"], now_ms + 1
        )
        if respond
        else None
    )
    if turn and agent_id:
        turn["agent_id"] = turn["pinned_agent_id"] = agent_id
    if turn and isinstance(body, SendMessage):
        if body.tools:
            turn["tools"] = [tool.model_dump(exclude_none=True) for tool in body.tools]
        if body.tool_choice is not None:
            turn["tool_choice"] = (
                body.tool_choice if isinstance(body.tool_choice, str) else body.tool_choice.model_dump()
            )
    item = store.prepare(message)
    operations = [
        _advance_op(
            workspace_id,
            conversation_id,
            now,
            new_message_id=message["id"],
            open_turn=turn is not None,
            reject_if_busy=reject_if_busy,
            pending_parent=pending,
            kind=kind,
        ),
        store.put_op(item),
    ]
    if turn:
        operations.append(turn_store.put_op(turn, clock.iso(clock.now() + QUEUED_DEADLINE)))
    if explicit_parent:
        operations.append(store.exists_op(workspace_id, conversation_id, explicit_parent))
    try:
        table.transact(operations)
    except table.TransactionCancelled as exc:
        store.discard(item)
        if exc.failed_at(0):
            current = _explain_conversation_refusal(workspace_id, conversation_id, reject_if_busy, kind)
            if conversation is None:
                # Nothing explains the refusal (a conversation from before pending parents, or a race):
                # send it the way that reads first.
                return _write(
                    workspace_id,
                    conversation_id,
                    current,
                    body,
                    respond=respond,
                    reject_if_busy=reject_if_busy,
                    parent_message_id=parent_message_id,
                    agent_id=agent_id,
                    kind=kind,
                    queue=queue,
                )
            raise errors.Conflict(
                "The conversation changed while the message was written; send it again."
            ) from exc
        if exc.failed_at(len(operations) - 1) and explicit_parent:
            raise errors.NotFound(
                f"Parent message {explicit_parent} not found in this conversation."
            ) from exc
        raise
    if turn and queue:
        _queue(turn)
    return Accepted(message=view(message), turn=turn_service.view(turn) if turn else None)


def _new_message(
    workspace_id: str,
    conversation_id: str,
    body: NewMessage,
    now_ms: int,
    now: str,
    *,
    parent_defaulted: bool,
) -> dict[str, Any]:
    return {
        **body.model_dump(include=set(NewMessage.model_fields) - {"parent_message_id"}),
        "id": "msg_" + ids.ulid(now_ms),
        "workspace_id": workspace_id,
        "conversation_id": conversation_id,
        "checksum": checksum(body.content),
        "parent_defaulted": parent_defaulted,
        "feedback": {},
        "sent_at": body.sent_at or now,
        "created_at": now,
        "updated_at": now,
    }


def open_with(
    workspace_id: str, conversation: dict[str, Any], body: NewMessage
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Create ``conversation`` (not stored yet) with ``body`` as its first message and a queued turn
    answering it, in one transaction: its #META is written already counting both, so nothing is read
    back, and there is never a conversation without the message it was created with.

    Returns the conversation, the message and the turn as stored (records: the caller shows what it
    needs of them). Raises Conflict if its id exists already."""
    now_ms = int(time.time() * 1000)
    now = clock.iso()
    message = _new_message(workspace_id, conversation["id"], body, now_ms, now, parent_defaulted=True)
    message["parent_message_id"] = None
    turn = turn_service.new_turn(workspace_id, conversation, message["id"], now_ms + 1)
    opened = {
        **conversation,
        "leaf_message_id": message["id"],
        "message_count": 1,
        "open_turns": 1,
        "last_activity_at": now,
        "updated_at": now,
    }
    item = store.prepare(message)
    try:
        table.transact(
            [
                *conversation_store.put_ops(opened),
                store.put_op(item),
                turn_store.put_op(turn, clock.iso(clock.now() + QUEUED_DEADLINE)),
            ]
        )
    except table.TransactionCancelled as exc:
        store.discard(item)
        if exc.failed_at(0):
            raise errors.Conflict(f"{conversation['id']} exists already.") from exc
        raise
    _queue(turn)
    return opened, message, turn


def edit(principal: Principal, conversation_id: str, message_id: str, body: EditMessage) -> Accepted:
    """A new version of a user message: a sibling of the original (same parent) answered by a new turn."""
    conversation = conversation_store.require(principal.workspace_id, conversation_id, consistent=True)
    original = _require_message(principal.workspace_id, conversation_id, message_id)
    _settle(principal.workspace_id, conversation_id, [original], conversation)
    if original["role"] != "user":
        raise errors.InvalidState("Only user messages can be edited; regenerate an assistant reply instead.")
    revised = NewMessage(
        content=body.content,
        role="user",
        message_type=original.get("message_type", "text"),
        tags=original.get("tags", []),
        meta_data={**original.get("meta_data", {}), "edited_from": message_id},
        sender_id=original.get("sender_id"),
        owner_id=original.get("owner_id"),
    )
    parent = original.get("parent_message_id")
    if parent is None:
        # A root message's sibling is another root: post with no parent at all.
        return _post_root(principal.workspace_id, conversation, revised, respond=body.respond)
    return post(principal.workspace_id, conversation, revised, respond=body.respond, parent_message_id=parent)


def _post_root(
    workspace_id: str, conversation: dict[str, Any], body: NewMessage, *, respond: bool
) -> Accepted:
    detached = {**conversation, "leaf_message_id": None}
    return post(workspace_id, detached, body, respond=respond)


def regenerate(principal: Principal, conversation_id: str, message_id: str) -> Accepted:
    """Answer a user message again: the new reply becomes a sibling of the earlier one."""
    conversation = conversation_store.require(principal.workspace_id, conversation_id, consistent=True)
    ensure_open(conversation)
    target = _require_message(principal.workspace_id, conversation_id, message_id)
    if target["role"] == "assistant":
        # After a tool chain the reply's parent is the chain's last result; it names its request.
        request_id = target.get("request_message_id") or target.get("parent_message_id")
        if not request_id:
            raise errors.InvalidState("This reply answers no message, so it cannot be regenerated.")
        request = _require_message(principal.workspace_id, conversation_id, request_id)
    elif target["role"] == "user":
        request = target
    else:
        raise errors.InvalidState("Only user messages and assistant replies can be regenerated.")
    now_ms = int(time.time() * 1000)
    turn = turn_service.new_turn(principal.workspace_id, conversation, request["id"], now_ms)
    leaf = conversation.get("leaf_message_id")
    if leaf and leaf != request["id"]:
        turn["replaces_leaf"] = leaf
    now = clock.iso()
    try:
        table.transact(
            [
                _advance_op(principal.workspace_id, conversation_id, now, open_turn=True),
                turn_store.put_op(turn, clock.iso(clock.now() + QUEUED_DEADLINE)),
            ]
        )
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            _explain_conversation_refusal(principal.workspace_id, conversation_id, False)
            raise errors.Conflict("The conversation changed meanwhile; try again.") from exc
        raise
    _queue(turn)
    return Accepted(message=view(request), turn=turn_service.view(turn))


def update(principal: Principal, conversation_id: str, message_id: str, body: UpdateMessage) -> Message:
    conversation_store.require(principal.workspace_id, conversation_id)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return view(_require_message(principal.workspace_id, conversation_id, message_id))
    changes["updated_at"] = clock.iso()
    try:
        return view(store.update(principal.workspace_id, conversation_id, message_id, set_fields=changes))
    except table.ConditionFailed as exc:
        raise errors.NotFound(f"Message {message_id} not found.") from exc


def revise(workspace_id: str, conversation_id: str, message_id: str, body: ReviseMessage) -> Message:
    """Change a stored message in place (compat APIs' message updates): content keeps its checksum true.

    Unlike ``edit`` this makes no new version and starts no turn."""
    conversation_store.require(workspace_id, conversation_id)
    changes = body.model_dump(exclude_none=True)
    if not changes:
        return view(_require_message(workspace_id, conversation_id, message_id))
    if changes.get("attachments"):
        from parley.services.files import check_attachments

        check_attachments(workspace_id, changes["attachments"])
    if "content" in changes:
        changes["checksum"] = checksum(changes["content"])
    changes["updated_at"] = clock.iso()
    try:
        return view(store.revise(workspace_id, conversation_id, message_id, changes))
    except table.ConditionFailed as exc:
        raise errors.NotFound(f"Message {message_id} not found.") from exc


def feedback(principal: Principal, conversation_id: str, message_id: str, body: Feedback) -> Message:
    conversation_store.require(principal.workspace_id, conversation_id)
    try:
        updated = store.set_feedback(
            principal.workspace_id, conversation_id, message_id, body.user_id, body.rating
        )
    except table.ConditionFailed as exc:
        raise errors.NotFound(f"Message {message_id} not found.") from exc
    return view(updated)


def ensure_open(conversation: dict[str, Any]) -> None:
    if conversation["status"] != "active":
        noun = "Job" if conversation.get("kind") == "job" else "Conversation"
        raise errors.InvalidState(
            f"{noun} {conversation['id']} is {conversation['status']}; it takes no new messages.",
            details=[{"status": conversation["status"]}],
        )


def _advance_op(
    workspace_id: str,
    conversation_id: str,
    now: str,
    *,
    new_message_id: str | None = None,
    open_turn: bool = False,
    reject_if_busy: bool = False,
    pending_parent: bool = False,
    kind: str | None = None,
) -> dict[str, Any]:
    """The conversation moves forward: activity, and optionally a new leaf message and an open turn.

    Conditional on the conversation still existing and being active (and idle, for if_busy=reject; and
    of ``kind``). ``pending_parent``: the old leaf is kept in ``pending_parents`` as the new message's
    parent (the update sees the item as it was before it)."""
    condition = f"attribute_exists(PK) AND #st = :active AND attribute_not_exists({AWAITING_TOOLS})"
    names = {"#st": "status"}
    values: dict[str, Any] = {":active": "active"}
    if reject_if_busy:
        condition += " AND open_turns = :none"
        values[":none"] = 0
    if kind:
        condition += " AND #kind = :kind"
        names["#kind"] = "kind"
        values[":kind"] = kind
    copies: dict[table.Path, str] = {}
    if pending_parent and new_message_id:
        condition += f" AND attribute_exists({PENDING_PARENTS}) AND attribute_exists(leaf_message_id)"
        copies[(PENDING_PARENTS, new_message_id)] = "leaf_message_id"
    fields: dict[str, Any] = {
        "last_activity_at": now,
        "updated_at": now,
        "ListSK": conversation_store.listing_sk(now, conversation_id),
    }
    counters = {"open_turns": 1 if open_turn else 0}
    if new_message_id:
        fields["leaf_message_id"] = new_message_id
        counters["message_count"] = 1
    return table.update_op(
        conversation_store.conversation_pk(workspace_id, conversation_id),
        conversation_store.META,
        set_fields=fields,
        add=counters,
        condition=condition,
        names=names,
        values=values,
        copies=copies,
    )


def _not_found(conversation_id: str, kind: str | None) -> errors.NotFound:
    noun = "Job" if kind == "job" else "Conversation"
    return errors.NotFound(f"{noun} {conversation_id} not found.")


def _explain_conversation_refusal(
    workspace_id: str, conversation_id: str, reject_if_busy: bool, kind: str | None = None
) -> dict[str, Any]:
    """Why #META refused a write (404, 409), read once on this error path; the conversation as it is
    now when nothing explains it."""
    current = conversation_store.get(workspace_id, conversation_id, consistent=True)
    if current is None or (kind and current.get("kind") != kind):
        raise _not_found(conversation_id, kind)
    ensure_open(current)
    if current.get(AWAITING_TOOLS):
        turn_id = current[AWAITING_TOOLS]
        raise errors.InvalidState(
            f"Turn {turn_id} is waiting for tool outputs (requires_action): submit them to "
            f"/v1/conversations/{conversation_id}/turns/{turn_id}/tool-outputs, or cancel it, first.",
            details=[{"status": "requires_action", "turn_id": turn_id}],
        )
    if reject_if_busy and current.get("open_turns", 0) > 0:
        raise errors.Conflict("A turn is still open in this conversation (if_busy is reject).")
    return current


def _queue(turn: dict[str, Any]) -> None:
    try:
        queues.enqueue_turn(turn["workspace_id"], turn["conversation_id"], turn["id"])
    except Exception:
        # Written but not queued: the sweeper queues it again once it is overdue, so nothing is lost.
        logger.exception("could not queue turn; the sweeper will", extra={"turn_id": turn["id"]})


def _require_message(workspace_id: str, conversation_id: str, message_id: str) -> dict[str, Any]:
    message = store.get(workspace_id, conversation_id, message_id)
    if message is None:
        raise errors.NotFound(f"Message {message_id} not found.")
    return message


# -- reading ------------------------------------------------------------------------------------
def get(principal: Principal, conversation_id: str, message_id: str) -> Message:
    found = store.get_with_conversation(principal.workspace_id, conversation_id, message_id)
    if found is None:
        raise errors.NotFound(f"Message {message_id} not found.")
    conversation, message = found
    _settle(principal.workspace_id, conversation_id, [message], conversation)
    return view(message)


def leaves(workspace_id: str, conversations: list[dict[str, Any]]) -> dict[str, Message]:
    """The leaf message of each conversation of a listing (its #META records), by conversation id:
    one read per 100 conversations, parents settled from each record, rather than one ``get`` each."""
    wanted = {c["id"]: c["leaf_message_id"] for c in conversations if c.get("leaf_message_id")}
    found = store.get_each(workspace_id, wanted.items())
    records = {c["id"]: c for c in conversations}
    shown: dict[str, Message] = {}
    for conversation_id, message_id in wanted.items():
        if (message := found.get(message_id)) is not None:
            _settle(workspace_id, conversation_id, [message], records[conversation_id])
            shown[conversation_id] = view(message)
    return shown


def list_messages(
    principal: Principal, conversation_id: str, query: MessageListQuery, *, kind: str | None = None
) -> Page[Message]:
    """One query per page: its range holds #META or the sentinel after the messages on a first page,
    which proves the conversation (of ``kind``) exists; a page that met neither reads #META."""
    workspace_id = principal.workspace_id
    if query.branch:
        return _list_branch(workspace_id, conversation_id, query, kind)
    newest_first = query.order == "desc"
    if not query.role and not query.tag:
        found = store.listing(
            workspace_id,
            conversation_id,
            limit=query.limit,
            cursor=query.cursor,
            newest_first=newest_first,
            with_conversation=True,
        )
        _settle(
            workspace_id, conversation_id, found.items, _proven(workspace_id, conversation_id, found, kind)
        )
        return _page(store.resolve_content(found.items), found.cursor)
    # Filtered: read pages until this one is full (bounded), so a page is never short while more exist.
    matched: list[dict[str, Any]] = []
    scanned = 0
    pages = _pages(workspace_id, conversation_id, query.cursor, newest_first, kind)
    for items, cursor, conversation in pages:
        scanned += len(items)
        for item in items:
            if (query.role and item["role"] != query.role) or (
                query.tag and query.tag not in item.get("tags", [])
            ):
                continue
            matched.append(item)
            if len(matched) == query.limit:
                _settle(workspace_id, conversation_id, matched, conversation)
                resume = store.cursor_after(workspace_id, conversation_id, item["id"])
                more = cursor is not None or item is not items[-1]
                return _page(store.resolve_content(matched), resume if more else None)
        if scanned >= MAX_SCANNED_MESSAGES:
            break
    _settle(workspace_id, conversation_id, matched, conversation)
    return _page(store.resolve_content(matched), None)


def scan(workspace_id: str, conversation_id: str, *, newest_first: bool = False) -> Iterator[dict[str, Any]]:
    """Every message of a conversation in time order (content resolved, parents settled), up to
    MAX_SCANNED_MESSAGES; NotFound if the conversation does not exist."""
    scanned = 0
    for items, _, conversation in _pages(workspace_id, conversation_id, None, newest_first, None):
        yield from store.resolve_content(_settle(workspace_id, conversation_id, items, conversation))
        scanned += len(items)
        if scanned >= MAX_SCANNED_MESSAGES:
            return


def _pages(
    workspace_id: str, conversation_id: str, cursor: str | None, newest_first: bool, kind: str | None
) -> Iterator[tuple[list[dict[str, Any]], str | None, dict[str, Any] | None]]:
    """Pages of 100 messages from ``cursor`` on, the first proving the conversation exists; with the
    conversation (#META) once a page has met it, for settling pending parents."""
    conversation: dict[str, Any] | None = None
    first = True
    while True:
        found = store.listing(
            workspace_id,
            conversation_id,
            limit=100,
            cursor=cursor,
            newest_first=newest_first,
            with_conversation=True,
        )
        if first:
            conversation = _proven(workspace_id, conversation_id, found, kind)
            first = False
        elif META in found.markers:
            conversation = conversation_store.public(found.markers[META])
        cursor = found.cursor
        yield found.items, cursor, conversation
        if cursor is None:
            return


def _proven(
    workspace_id: str, conversation_id: str, page: table.Page, kind: str | None
) -> dict[str, Any] | None:
    """NotFound unless the page proves the conversation (of ``kind``) exists (reading #META if the page
    cannot tell); #META when the page or that read has it."""
    proof = conversation_store.listing_proof(page, kind)
    if proof is None:
        conversation = conversation_store.get(workspace_id, conversation_id)
        if conversation is None or (kind and conversation.get("kind") != kind):
            raise _not_found(conversation_id, kind)
        return conversation
    if not proof:
        raise _not_found(conversation_id, kind)
    meta = page.markers.get(META)
    return conversation_store.public(meta) if meta else None


def _settle(
    workspace_id: str,
    conversation_id: str,
    messages: list[dict[str, Any]],
    conversation: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    """Give messages whose default parent is still pending (their turn has not written it yet) the parent
    kept on #META. Costs a read only while one is pending and the caller has no fresh #META."""
    pending = [m for m in messages if m.get("parent_pending")]
    if not pending:
        return messages
    parents = (conversation or {}).get(PENDING_PARENTS) or {}
    if any(m["id"] not in parents for m in pending):
        fresh = conversation_store.get(workspace_id, conversation_id, consistent=True) or {}
        parents = fresh.get(PENDING_PARENTS) or {}
    for message in pending:
        if message["id"] in parents:
            message["parent_message_id"] = parents[message["id"]]
            message.pop("parent_pending")
            continue
        settled = store.get(workspace_id, conversation_id, message["id"], consistent=True)  # just written
        if settled and not settled.get("parent_pending"):
            message["parent_message_id"] = settled.get("parent_message_id")
            message.pop("parent_pending")
    return messages


def pending_settlement(
    conversation: dict[str, Any], request_message_id: str
) -> tuple[list[dict[str, Any]], list[table.Path]]:
    """For a completing turn: the writes that settle the parents still pending on ``conversation``
    (#META as the turn read it) other than its own request's (the turn writes that one, perhaps moved
    on to a reply), and the #META paths to remove - the request's included. Bounded per turn."""
    parents = conversation.get(PENDING_PARENTS) or {}
    writes: list[dict[str, Any]] = [
        store.settle_parent_op(conversation["workspace_id"], conversation["id"], message_id, parent)
        for message_id, parent in list(parents.items())[:MAX_SETTLED_PER_TURN]
        if message_id != request_message_id
    ]
    forget: list[table.Path] = [
        (PENDING_PARENTS, message_id) for message_id in list(parents)[:MAX_SETTLED_PER_TURN]
    ]
    if request_message_id in parents and (PENDING_PARENTS, request_message_id) not in forget:
        forget.append((PENDING_PARENTS, request_message_id))
    return writes, forget


def _list_branch(
    workspace_id: str, conversation_id: str, query: MessageListQuery, kind: str | None
) -> Page[Message]:
    everything, _ = _all_messages(workspace_id, conversation_id, kind)
    if query.branch not in everything:
        raise errors.NotFound(f"Message {query.branch} not found.")
    path = branches.path_to_root(everything, query.branch)
    if query.order == "desc":
        path.reverse()
    start = 0
    if query.cursor:
        after = store.message_after_cursor(workspace_id, conversation_id, query.cursor)
        start = next((i + 1 for i, m in enumerate(path) if m["id"] == after), len(path))
    chunk = path[start : start + query.limit]
    more = start + query.limit < len(path)
    cursor = store.cursor_after(workspace_id, conversation_id, chunk[-1]["id"]) if more and chunk else None
    return _page(store.resolve_content(chunk), cursor)


def list_branches(principal: Principal, conversation_id: str) -> BranchList:
    everything, conversation = _all_messages(principal.workspace_id, conversation_id)
    current = conversation.get("leaf_message_id")
    data = []
    for leaf in branches.leaves(everything):
        path = branches.path_to_root(everything, leaf["id"])
        data.append(
            Branch(
                leaf_message_id=leaf["id"],
                length=len(path),
                last_message_at=leaf["created_at"],
                is_current=leaf["id"] == current or any(m["id"] == current for m in path),
            )
        )
    data.sort(key=lambda b: b.last_message_at, reverse=True)
    return BranchList(data=data)


def tree(workspace_id: str, conversation_id: str) -> dict[str, dict[str, Any]]:
    """Every message of a conversation by id (bounded; content not yet read from S3), for callers that
    walk its branches themselves; ``with_content`` then views the ones they keep."""
    return _all_messages(workspace_id, conversation_id)[0]


def with_content(items: list[dict[str, Any]]) -> list[Message]:
    return [view(item) for item in store.resolve_content(items)]


def _all_messages(
    workspace_id: str, conversation_id: str, kind: str | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Every message by id (parents settled) and the conversation: oldest first, so the first page
    starts with #META."""
    everything: dict[str, dict[str, Any]] = {}
    conversation: dict[str, Any] | None = None
    for items, _, latest in _pages(workspace_id, conversation_id, None, False, kind):
        everything.update((item["id"], item) for item in items)
        conversation = latest
        if len(everything) >= MAX_SCANNED_MESSAGES:
            break
    _settle(workspace_id, conversation_id, list(everything.values()), conversation)
    return everything, conversation or {}


def _page(items: list[dict[str, Any]], cursor: str | None) -> Page[Message]:
    return Page[Message](data=[view(item) for item in items], next_cursor=cursor, has_more=cursor is not None)
