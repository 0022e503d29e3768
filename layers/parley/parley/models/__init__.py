"""Pydantic schemas: request bodies, responses and the shapes services hand back.

Modules defining models do not use ``from __future__ import annotations``: with it every field's
annotation is a string that pydantic compiles and evaluates when the class is made, a cost every cold
start pays for every field of every model it imports (about a millisecond per module).
"""
