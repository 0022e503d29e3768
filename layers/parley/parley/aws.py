"""AWS clients: one botocore session per container, clients made from it on first use.

botocore, not boto3: boto3 adds nothing Parley uses (no resources, no managed transfers) and its
import (s3transfer, multiprocessing, concurrent.futures) is a measurable part of a cold start. One
session means the data loader (service models, endpoint rules, partitions) and the credential
resolver are shared: a second client (SQS after DynamoDB) costs milliseconds, not a second load.

Callers keep their own ``@functools.cache`` around ``client(...)`` (one client per service and
configuration); tests clear those caches between cases, as a new container would.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

from parley.config import settings

# botocore's endpoints.json with only the services Parley calls, and the models of the services every
# request or turn calls with only the operations it calls (tools/trim_aws_data.py): read whole,
# botocore's own copies cost each cold start ~17 ms and ~6 ms.
DATA_PATH = Path(__file__).with_name("aws_data")

# botocore sessions are not safe to create clients from concurrently (the devstack hosts several
# execution environments of a function as threads of one process).
_creating = threading.Lock()


@cache
def session() -> Any:
    import botocore.session  # imported on first use: code that never calls AWS never pays for it

    made = botocore.session.get_session()
    # Before the loader exists: it searches these folders first (AWS_DATA_PATH, if set, after ours).
    made.set_config_variable(
        "data_path", os.pathsep.join(filter(None, (str(DATA_PATH), made.get_config_variable("data_path"))))
    )
    loader = made.get_component("data_loader")
    loader.list_available_services = _KnownServices.of(loader)
    return made


class _KnownServices:
    """botocore's Loader checks that a service exists, before loading its model, by listing every
    service it has: about 800 directory reads, ~10 ms of each cold start (twice: the model and its
    endpoint rules). This answers ``in`` from the one service's own folder; iterating it still lists
    them all, as botocore would."""

    def __init__(self, loader: Any, list_all: Any, type_name: str) -> None:
        self._loader, self._list_all, self._type_name = loader, list_all, type_name

    @classmethod
    def of(cls, loader: Any) -> Any:
        list_all = loader.list_available_services
        return lambda type_name: cls(loader, list_all, type_name)

    def __contains__(self, service: object) -> bool:
        from botocore.exceptions import DataNotFoundError

        try:
            return bool(self._loader.list_api_versions(str(service), self._type_name))
        except DataNotFoundError:
            return False

    def __iter__(self) -> Any:
        return iter(self._list_all(self._type_name))


def client(
    service: str, *, region: str | None = None, config: Any = None, endpoint_url: str | None = None
) -> Any:
    """A new client of ``service`` from the shared session (region: the function's, by default)."""
    with _creating:
        return session().create_client(
            service, region_name=region or settings().region, config=config, endpoint_url=endpoint_url
        )
