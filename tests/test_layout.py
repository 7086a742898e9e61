"""The folder tree is the architecture: the dependency directions of ARCHITECTURE.md, checked
over every import statement of the shipped packages (module-level and inside functions)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(p for p in parts if p != "__init__"), path


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) of every import in ``path``; ``from a import b`` gives ``a.b``
    too, so ``from gateway import store`` counts as importing ``gateway.store``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _offences(package: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    found = []
    for name, path in _modules(package):
        for line, target in _imports(path):
            hit = any(target == f or target.startswith(f + ".") for f in forbidden)
            if hit and not any(target == a or target.startswith(a + ".") for a in allowed):
                found.append(f"{path.relative_to(ROOT)}:{line}: {name} imports {target}")
    return found


ENGINE_ABOVE_MAPPINGS = (
    "gateway.store",
    "gateway.delivery",
    "gateway.web",
    "gateway.cli",
    "gateway.demo",
    "gateway.peers",
    "gateway.inbound",
    "gateway.as2",
    "connectors",
)


def test_mappings_never_import_the_store_the_engine_or_connectors() -> None:
    """mappings/ imports the model and friends only: never the store, the delivery engine, the
    web app, the CLI, the peers or a connector."""
    assert _offences("mappings", ENGINE_ABOVE_MAPPINGS) == []


def test_connectors_never_import_the_store_or_the_engine() -> None:
    """connectors/ imports the model, errors and the delivery error classes (its contract), never
    the store, the worker, routing, the web app or the CLI."""
    forbidden = (
        "gateway.store",
        "gateway.delivery",
        "gateway.web",
        "gateway.cli",
        "gateway.demo",
        "gateway.peers",
    )
    assert _offences("connectors", forbidden, allowed=("gateway.delivery.errors",)) == []


@pytest.mark.parametrize(
    "package",
    [
        "gateway/model",
        "gateway/rules",
        "gateway/intake",
        "gateway/validation",
        "gateway/masterdata",
        "gateway/store",
    ],
)
def test_lower_layers_never_import_upper_ones(package: str) -> None:
    """The model, rules, intake, validation, master data and the store never import the delivery
    engine, the web app, the CLI, the demo or the loopback peers (dependencies point down)."""
    upper = ("gateway.delivery", "gateway.web", "gateway.cli", "gateway.demo", "gateway.peers")
    assert _offences(package, upper) == []


def test_only_the_demo_uses_the_loopback_peers() -> None:
    """gateway/peers (loopback servers for the demo and tests) is used by nothing of the engine
    but the demo."""
    found = [
        o
        for o in _offences("gateway", ("gateway.peers",))
        if not o.startswith(("gateway/peers/", "gateway/demo.py"))
    ]
    assert found == []


def test_the_delivery_package_init_imports_nothing() -> None:
    """Importing gateway.delivery.errors (what connectors need) does not load the worker."""
    assert list(_imports(ROOT / "gateway" / "delivery" / "__init__.py")) == []


def test_the_gateway_top_level_stays_small() -> None:
    """A capability that grows beyond a few modules lives in its own package: the top level of
    gateway/ keeps the shared foundations only (a new top-level module needs a reason here)."""
    top = sorted(p.stem for p in (ROOT / "gateway").glob("*.py") if p.stem != "__init__")
    assert top == [
        "ack",
        "demo",
        "detect",
        "display",
        "document",
        "envelope",
        "errors",
        "limits",
        "logs",
        "partner_ids",
        "registry",
        "secrets",
        "settings",
        "shipped",
        "totals",
    ]
