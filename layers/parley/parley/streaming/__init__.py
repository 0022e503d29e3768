"""Token streaming over the WebSocket API (DESIGN §5a).

``socket`` turns API Gateway's WebSocket events into calls and frames; ``frames`` builds the frames a
client receives (each within API Gateway's 32 KB); ``fanout`` posts them to a conversation's
subscribed connections through ``@connections``; ``turn_stream`` is the worker's side: it batches a
model's deltas, numbers the frames of a turn and keeps the turn's partial text up to date.
"""
