"""Pydantic schemas: request bodies, responses and the shapes services hand back."""
