"""Checks on what `sam build` produces, and the sample events in events/ they are invoked with."""
