"""Parley: the shared code of every Lambda function (the layer)."""

__version__ = "0.1.0"
