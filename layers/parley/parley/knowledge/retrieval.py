"""Retrievers: the passages of a workspace's knowledge that best answer a query.

``lexical`` scores the workspace's indexed chunks with BM25 (parley.store.chunks): a query reads the
posting lists of its terms (at most ``MAX_QUERY_TERMS``, concurrently), the corpus statistics, and then
only the top chunks and their files. ``bedrock_kb`` asks an Amazon Bedrock knowledge base (its Retrieve
API) for deployments whose documents live there.

A scope ``{"inboxes": [...], "files": [...]}`` keeps the chunks of those inboxes or of those files; an
empty scope is the whole workspace. A retriever's failure the caller may show is a ``RetrievalError``.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import posixpath
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from parley.knowledge import Passage
from parley.knowledge.text import tokens
from parley.models.knowledge import DEFAULT_TOP_K, MAX_TOP_K

# Queries longer than this many distinct terms keep their first ones: each term is one read.
MAX_QUERY_TERMS = 16
# BM25's usual constants: term-frequency saturation and length normalisation.
K1 = 1.2
B = 0.75
# Reads in flight for one query (boto3/botocore clients are thread-safe).
_READERS = 8
# Bedrock's Retrieve returns at most 100 results; more than k are asked for when some may be filtered.
_BEDROCK_MAX_RESULTS = 100
_SHOWN_ERRORS = frozenset({"ValidationException", "ResourceNotFoundException"})


class RetrievalError(Exception):
    """Retrieval failed for a reason safe to show (no credentials, no internals)."""


class KnowledgeBaseNotFound(RetrievalError):
    """The named Bedrock knowledge base does not exist (in this account and region): the caller's error."""


class Retriever(Protocol):
    name: str

    def retrieve(
        self, workspace_id: str, query: str, scope: Mapping[str, Any], k: int = DEFAULT_TOP_K
    ) -> list[Passage]: ...


def retriever_for(settings: Mapping[str, Any] | None) -> Retriever:
    """The retriever an agent's ``knowledge`` settings name (lexical by default)."""
    settings = settings or {}
    kind = settings.get("retriever") or "lexical"
    if kind == "lexical":
        return LexicalRetriever()
    if kind == "bedrock_kb":
        knowledge_base_id = settings.get("knowledge_base_id")
        if not knowledge_base_id:
            raise RetrievalError("The bedrock_kb retriever needs a knowledge_base_id.")
        return BedrockKbRetriever(str(knowledge_base_id))
    raise RetrievalError(f"Unknown retriever {kind!r}: use lexical or bedrock_kb.")


def scope_of(conversation: Mapping[str, Any], agent: Mapping[str, Any]) -> dict[str, list[str]] | None:
    """What a turn retrieves from: the job's scope when it names inboxes or files, else the agent's
    knowledge inboxes and files, else (for an agent with a Bedrock knowledge base) the whole knowledge
    base; None when there is nothing to retrieve from."""
    for source in (conversation.get("scope") or {}, agent.get("knowledge") or {}):
        inboxes, files = list(source.get("inboxes") or []), list(source.get("files") or [])
        folders = list(source.get("folders") or [])
        subscriptions = list(source.get("subscriptions") or [])
        if subscriptions:  # read through parley.services.sharing when the turn retrieves
            return {"inboxes": inboxes, "files": files, "folders": folders, "subscriptions": subscriptions}
        if folders:
            return {"inboxes": inboxes, "files": files, "folders": folders}
        if inboxes or files:
            return {"inboxes": inboxes, "files": files}
    knowledge = agent.get("knowledge") or {}
    if knowledge.get("retriever") == "bedrock_kb" and knowledge.get("knowledge_base_id"):
        return {"inboxes": [], "files": []}
    return None


# What a scope whose folders are all gone keeps: nothing (an empty scope would be the whole workspace).
_NOTHING = "inbox_none"


def expand_folders(workspace_id: str, scope: Mapping[str, Any]) -> Mapping[str, Any]:
    """The scope with its ``folders`` (folder ids, each meaning its subtree as it is now) turned into
    the inboxes they hold; a scope of folders that are all gone keeps nothing."""
    folders = list(scope.get("folders") or [])
    if not folders:
        return scope
    from parley.services.folders import inbox_ids_under

    inboxes = list(dict.fromkeys([*(scope.get("inboxes") or []), *inbox_ids_under(workspace_id, folders)]))
    rest = {k: v for k, v in scope.items() if k != "folders"}  # other parts' keys stay as they are
    return {**rest, "inboxes": inboxes or [_NOTHING], "files": list(scope.get("files") or [])}


def in_scope(scope: Mapping[str, Any], inbox_id: str | None, file_id: str) -> bool:
    inboxes, files = scope.get("inboxes") or (), scope.get("files") or ()
    if not inboxes and not files:
        return True
    return file_id in files or (inbox_id is not None and inbox_id in inboxes)


def _as_sets(scope: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    return {"inboxes": frozenset(scope.get("inboxes") or ()), "files": frozenset(scope.get("files") or ())}


def _top_k(k: int) -> int:
    return min(max(int(k), 1), MAX_TOP_K)


@cache
def _readers() -> ThreadPoolExecutor:
    """Threads kept for the container's life: a warm query does not pay for starting them."""
    return ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="retrieval")


# -- lexical --------------------------------------------------------------------------------------
class LexicalRetriever:
    """BM25 over the workspace's chunk index (parley.store.chunks)."""

    name = "lexical"

    def retrieve(
        self, workspace_id: str, query: str, scope: Mapping[str, Any], k: int = DEFAULT_TOP_K
    ) -> list[Passage]:
        from parley.store import chunks

        scope = expand_folders(workspace_id, scope)
        terms = list(dict.fromkeys(tokens(query)))[:MAX_QUERY_TERMS]
        if not terms:
            return []
        pool = _readers()
        corpus = pool.submit(chunks.stats, workspace_id)
        lists = [pool.submit(chunks.postings, workspace_id, term) for term in terms]
        scores = bm25([future.result() for future in lists], *corpus.result(), scope)
        best = heapq.nsmallest(_top_k(k), scores.items(), key=lambda item: (-item[1], item[0]))
        if not best:
            return []
        return self._passages(workspace_id, best)

    @staticmethod
    def _passages(workspace_id: str, best: list[tuple[str, float]]) -> list[Passage]:
        from parley.store import chunks
        from parley.store import files as file_store

        ids = [chunk_id for chunk_id, _ in best]
        file_ids = list(dict.fromkeys(chunk_id.rpartition(":")[0] for chunk_id in ids))
        pool = _readers()
        found_files = pool.submit(file_store.get_many, workspace_id, file_ids)
        found_chunks = chunks.get_many(workspace_id, ids)
        records = found_files.result()
        passages = []
        for chunk_id, score in best:
            chunk = found_chunks.get(chunk_id)
            record = records.get(chunk_id.rpartition(":")[0])
            if chunk is None or record is None:
                continue  # removed since its postings were read
            passages.append(
                Passage(
                    chunk_id=chunk_id,
                    file_id=record["id"],
                    content=chunk["content"],
                    display_text=chunk["display_text"],
                    filename=record["name"],
                    filetype=filetype(record["name"], record.get("content_type")),
                    score=round(score, 6),
                    position=chunk["position"],
                    page=chunk.get("page"),
                    url=download_url(record),
                )
            )
        return passages


def bm25(
    posting_lists: list[list[Any]], chunk_count: int, total_length: int, scope: Mapping[str, Any]
) -> dict[str, float]:
    """chunk id → BM25 score, over the in-scope chunks of ``posting_lists`` (one list per query term).

    N and the average length are the workspace's; a term's document frequency counts all its chunks,
    so a scope narrows which chunks rank, not how rare a word is."""
    seen_lengths = {p.chunk_id: p.length for postings in posting_lists for p in postings}
    # The statistics may lag the postings (eventual consistency): never below what a query saw.
    n = max(chunk_count, len(seen_lengths), 1)
    average = (total_length / chunk_count) if chunk_count and total_length else None
    if not average:
        average = (sum(seen_lengths.values()) / len(seen_lengths)) if seen_lengths else 1.0
    average = max(average, 1.0)
    scope = _as_sets(scope)
    scores: dict[str, float] = {}
    for postings in posting_lists:
        if not postings:
            continue
        frequency = len(postings)
        idf = math.log(1 + (n - frequency + 0.5) / (frequency + 0.5))
        for p in postings:
            if not in_scope(scope, p.inbox_id, p.file_id):
                continue
            norm = p.tf + K1 * (1 - B + B * p.length / average)
            scores[p.chunk_id] = scores.get(p.chunk_id, 0.0) + idf * p.tf * (K1 + 1) / norm
    return scores


def filetype(name: str, content_type: str | None = None) -> str:
    """What kind of file: its extension ("pdf", "md"), else its media subtype ("plain")."""
    extension = posixpath.splitext(name)[1].lstrip(".").lower()
    if extension:
        return extension
    return (content_type or "").split(";", 1)[0].rpartition("/")[2].strip().lower()


def download_url(record: Mapping[str, Any]) -> str | None:
    """A presigned link to the file's bytes (signed locally: no AWS call)."""
    if not record.get("s3_key") or record.get("status") not in (None, "uploaded"):
        return None
    from parley.models.files import DOWNLOAD_URL_SECONDS
    from parley.services.files import content_disposition
    from parley.store import blobs

    return blobs.presign_get(
        record["s3_key"],
        DOWNLOAD_URL_SECONDS,
        content_type=record.get("content_type") or "application/octet-stream",
        disposition=content_disposition(record["name"]),
    )


# -- subscribed shared folders --------------------------------------------------------------------
def retrieve_with_shared(
    retriever: Retriever,
    workspace_id: str,
    query: str,
    scope: Mapping[str, Any],
    k: int,
    shared: Sequence[tuple[str, Mapping[str, Any]]],
) -> list[Passage]:
    """The best ``k`` passages of the workspace's own scope (only if it names inboxes, files or
    folders: a scope of subscriptions alone is not the whole workspace) and of the shared folders.

    ``shared`` is ``(streamer workspace, scope)`` per live subscription, as parley.services.sharing
    checked it (this module never decides who may read another workspace); shared folders are
    searched lexically over the streamer's own index, and scores are merged as they are."""
    own = {name: scope.get(name) for name in ("inboxes", "files", "folders") if scope.get(name)}
    found: list[Passage] = list(retriever.retrieve(workspace_id, query, own, k=k)) if own else []
    for streamer, shared_scope in shared:
        found.extend(LexicalRetriever().retrieve(streamer, query, shared_scope, k=k))
    found.sort(key=lambda p: (-p.score, p.chunk_id))
    return found[: _top_k(k)]


# -- Amazon Bedrock Knowledge Bases ---------------------------------------------------------------
@cache
def bedrock_client() -> Any:
    from parley import aws

    return aws.client("bedrock-agent-runtime")


class BedrockKbRetriever:
    """Amazon Bedrock Knowledge Bases' Retrieve API.

    Results stored in this deployment's files bucket are kept only when they are this workspace's and
    in scope (a knowledge base over the whole bucket must not leak another tenant's files). Results
    from elsewhere (the knowledge base's own sources) are the knowledge base owner's choice: kept when
    the scope is the whole knowledge base, dropped when it names inboxes or files.
    """

    name = "bedrock_kb"

    def __init__(self, knowledge_base_id: str) -> None:
        self.knowledge_base_id = knowledge_base_id

    def retrieve(
        self, workspace_id: str, query: str, scope: Mapping[str, Any], k: int = DEFAULT_TOP_K
    ) -> list[Passage]:
        from botocore.exceptions import BotoCoreError, ClientError

        from parley.config import settings

        k = _top_k(k)
        scope = expand_folders(workspace_id, scope)
        wanted = k if not (scope.get("inboxes") or scope.get("files")) else min(k * 4, _BEDROCK_MAX_RESULTS)
        try:
            response = bedrock_client().retrieve(
                knowledgeBaseId=self.knowledge_base_id,
                retrievalQuery={"text": query},
                retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": wanted}},
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "Error")
            # Only these messages are about the request; others (access denied) name roles and accounts.
            said = f": {error.get('Message')}" if code in _SHOWN_ERRORS and error.get("Message") else ""
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "ResourceNotFoundException" or status == 404:
                raise KnowledgeBaseNotFound(
                    f"Bedrock knowledge base {self.knowledge_base_id} was not found{said}"
                ) from exc
            raise RetrievalError(
                f"Bedrock knowledge base {self.knowledge_base_id} could not be searched ({code}){said}"
            ) from exc
        except BotoCoreError as exc:
            raise RetrievalError(
                f"Bedrock knowledge base {self.knowledge_base_id} could not be reached "
                f"({type(exc).__name__})."
            ) from exc
        bucket = settings().bucket
        candidates = [self._passage(result, bucket) for result in response.get("retrievalResults", [])]
        return self._kept(workspace_id, [c for c in candidates if c is not None], bucket, scope)[:k]

    def _passage(self, result: Mapping[str, Any], bucket: str) -> tuple[Passage, str | None] | None:
        """The result as a passage, with its S3 key when it is in this deployment's bucket."""
        text = (result.get("content") or {}).get("text")
        if not text:
            return None
        location = result.get("location") or {}
        uri = (location.get("s3Location") or {}).get("uri") or (location.get("webLocation") or {}).get("url")
        metadata = result.get("metadata") or {}
        own_key = _own_key(uri, bucket)
        parts = own_key.split("/") if own_key else []
        # workspaces/<ws>/files/<file_id>/<name>: the file is one of ours and has an id.
        file_id = parts[3] if len(parts) >= 5 and parts[0] == "workspaces" and parts[2] == "files" else None
        name = posixpath.basename(urlsplit(uri).path) if uri else ""
        name = unquote(name) or str(metadata.get("x-amz-bedrock-kb-source-uri") or "knowledge base")
        chunk_id = str(metadata.get("x-amz-bedrock-kb-chunk-id") or _stable_id(uri or "", text))
        page = metadata.get("x-amz-bedrock-kb-document-page-number")
        passage = Passage(
            chunk_id=chunk_id,
            file_id=file_id or (uri or ""),
            content=text,
            display_text=" ".join(text.split())[:200],
            filename=name,
            filetype=filetype(name),
            score=float(result.get("score") or 0.0),
            position=0,
            page=int(page) if isinstance(page, int | float) else None,
            url=uri if uri and uri.startswith("https://") else None,
        )
        return passage, own_key

    def _kept(
        self,
        workspace_id: str,
        candidates: list[tuple[Passage, str | None]],
        bucket: str,
        scope: Mapping[str, Any],
    ) -> list[Passage]:
        ours = {p.file_id for p, key in candidates if key is not None}
        records: dict[str, dict[str, Any]] = {}
        if ours:
            from parley.store import files as file_store

            records = file_store.get_many(workspace_id, sorted(ours))
        scoped = bool(scope.get("inboxes") or scope.get("files"))
        kept = []
        for passage, key in candidates:
            if key is None:
                if not scoped:  # a scope names this workspace's inboxes and files, nothing else
                    kept.append(passage)
                continue
            record = records.get(passage.file_id)
            if record is None or not key.startswith(f"workspaces/{workspace_id}/"):
                continue  # another workspace's file, or a deleted one
            if not in_scope(scope, record.get("inbox_id"), passage.file_id):
                continue
            kept.append(
                dataclasses.replace(
                    passage,
                    filename=record["name"],
                    filetype=filetype(record["name"], record.get("content_type")),
                    url=download_url(record),
                )
            )
        return kept


def _own_key(uri: str | None, bucket: str) -> str | None:
    """The object key of an ``s3://<bucket>/<key>`` URI in this deployment's bucket, else None."""
    if not uri or not uri.startswith("s3://"):
        return None
    parsed = urlsplit(uri)
    return unquote(parsed.path.lstrip("/")) if parsed.netloc == bucket else None


def _stable_id(uri: str, text: str) -> str:
    import hashlib

    return "kb_" + hashlib.sha256(f"{uri}\n{text}".encode()).hexdigest()[:24]
