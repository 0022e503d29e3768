"""Contract tests share the e2e devstack: the seed APIs' wire shapes over real HTTP."""

from tests.e2e.conftest import api, devstack, key  # noqa: F401
