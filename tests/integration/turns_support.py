"""Driving turns in-process: the turns queue drained into the real worker, as the Lambda poller would."""

from __future__ import annotations

from devstack.resources import LocalResources
from tests.integration.queues_support import QueueWorker


class TurnQueue(QueueWorker):
    """The template's turns queue (FIFO) in moto, with RunTurnFunction behind it."""

    def __init__(self, aws: LocalResources) -> None:
        super().__init__(aws, "TurnsQueue", "RunTurnFunction")
