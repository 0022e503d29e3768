"""Imports go one way (DESIGN.md 5a): the agent imports services, services never import the agent.

Read from the source with ``ast``, so an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layers" / "parley"
SERVICES = LAYER / "parley" / "services"
AGENT = "parley.agent"


def module_name(path: Path) -> str:
    parts = path.relative_to(LAYER).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The modules an import statement names, relative ones resolved against ``module``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # ``from . import x`` is relative to the module's package (a package's own, for __init__)
        package = module.rsplit(".", node.level - (1 if is_package else 0))[0]
        base = f"{package}.{base}" if base else package
    # ``from parley import agent`` names the module parley.agent.
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def agent_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """Each import of the agent package in ``source``, as ``module:line``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if any(name == AGENT or name.startswith(AGENT + ".") for name in imported(node, module, is_package)):
            found.append(f"{module}:{node.lineno}")
    return found


def test_no_service_module_imports_the_agent():
    modules = sorted(SERVICES.rglob("*.py"))
    assert modules, f"no modules under {SERVICES}"

    found = []
    for path in modules:
        source = path.read_text(encoding="utf-8")
        found += agent_imports(source, module_name(path), is_package=path.name == "__init__.py")

    assert not found, f"services import {AGENT} (services sit above the agent: pass it in): {found}"


def test_the_check_finds_agent_imports_inside_functions_and_relative_ones():
    source = (
        "from parley.store import messages\n"
        "import parley.agentic\n"
        "def run():\n"
        "    from parley.agent import pipeline\n"
        "    from parley import agent\n"
        "    import parley.agent.tool_loop\n"
        "    from ..agent.memory import recall\n"
        "    from . import agent\n"
    )

    found = agent_imports(source, "parley.services.chat_completions")

    assert found == [f"parley.services.chat_completions:{line}" for line in (4, 5, 6, 7)]
