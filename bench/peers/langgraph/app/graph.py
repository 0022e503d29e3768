# Vendored from the peer benchmark unchanged but for these four lines (see ../README.md):
# ruff: noqa
# fmt: off
# mypy: ignore-errors
"""Minimal chat graph for the LangGraph peer benchmark.

One node ("chat") calls a deterministic fake chat model that always replies
with the same fixed text. No network access, no API keys.
"""
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langgraph.graph import END, START, MessagesState, StateGraph

REPLY = "Hello! This is a fixed reply from the fake chat model."

# FakeListChatModel cycles through `responses`; with one entry it always
# returns REPLY (safe under concurrency: the index just wraps to 0).
model = FakeListChatModel(responses=[REPLY])


async def chat(state: MessagesState) -> dict:
    reply = await model.ainvoke(state["messages"])
    return {"messages": [reply]}


builder = StateGraph(MessagesState)
builder.add_node("chat", chat)
builder.add_edge(START, "chat")
builder.add_edge("chat", END)
graph = builder.compile()
