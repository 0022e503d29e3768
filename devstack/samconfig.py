"""Parameter overrides from samconfig.toml: the devstack runs the template as `--config-env dev` would."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

from devstack.template import REPO_ROOT

SAMCONFIG_PATH = REPO_ROOT / "samconfig.toml"
DEFAULT_ENVIRONMENT = "dev"


def parameter_overrides(
    environment: str = DEFAULT_ENVIRONMENT, path: Path = SAMCONFIG_PATH
) -> dict[str, str]:
    """``parameter_overrides = "A=1 B=2"`` of ``[<environment>.deploy.parameters]``; {} if there is none."""
    if not path.is_file():
        return {}
    with open(path, "rb") as fh:
        config = tomllib.load(fh)
    raw = config.get(environment, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    pairs = shlex.split(raw) if isinstance(raw, str) else list(raw)
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)
