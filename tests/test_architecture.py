"""Which way the arrows point (ARCHITECTURE.md): every product module's imports, read with `ast`.

The floors, from the top: config → reports → orders → amazon_settings → core. A module may
import its own app and the floors below it, never one above; the Amazon sandbox and the product
import nothing of each other; the SP-API client imports nothing of the product around it. Inside
an app, writes and reads (services, selectors, models) never import the pages built on them
(views, forms, urls). Imports inside functions count too: a local import does not make a
reversed arrow right.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each top-level package of the repository may import of the others.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "amazon_settings": frozenset({"core"}),
    "orders": frozenset({"amazon_settings", "core"}),
    "reports": frozenset({"orders", "amazon_settings", "core"}),
    "api": frozenset({"reports", "orders", "amazon_settings", "core"}),
    "config": frozenset({"api", "reports", "orders", "amazon_settings", "core"}),
    "amazon_sandbox": frozenset(),
}
OUR_PACKAGES = frozenset(MAY_IMPORT) | {"tests", "bench", "scripts"}
SPAPI = "amazon_settings.spapi"
# Layers inside an app: the lower never import the upper.
PAGES = ("views", "forms", "urls")
LOGIC = ("services", "selectors", "models", "tasks")


@dataclass(frozen=True)
class Import:
    path: Path  # relative to the repository
    line: int
    module: str  # absolute dotted name of what is imported

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[Import]:
    """Every import statement of the file, relative ones resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    relative = path.relative_to(ROOT)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(relative, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # `from reports import services` imports reports.services: name the submodule.
            for alias in node.names:
                yield Import(relative, node.lineno, f"{module}.{alias.name}")


def product_files() -> Iterator[Path]:
    for package in MAY_IMPORT:
        yield from sorted((ROOT / package).rglob("*.py"))


def top(module: str) -> str:
    return module.split(".", 1)[0]


def layer(module: str) -> str:
    """`views`, `services`, … for `reports.views.processing` or `amazon_settings.services`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def reversed_arrows(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        source = module_name(path)
        app = top(source)
        for imported in imports_of(path):
            target = top(imported.module)
            if target not in OUR_PACKAGES or target == app:
                pass
            elif target not in MAY_IMPORT.get(app, frozenset()):
                found.append(f"{imported}: {app} may not import {target}")
            if source.startswith(SPAPI) and target in OUR_PACKAGES:
                if not imported.module.startswith(SPAPI):
                    found.append(f"{imported}: the SP-API client imports nothing of the product")
            if (
                target == app
                and layer(source) in LOGIC
                and layer(imported.module) in PAGES
                and not source.startswith(SPAPI)
            ):
                found.append(f"{imported}: {layer(source)} may not import {layer(imported.module)}")
    return found


def test_every_arrow_points_one_way():
    files = list(product_files())
    assert len(files) > 100  # the walk found the product
    found = reversed_arrows(files)
    assert not found, "Reversed arrows (see ARCHITECTURE.md):\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("orders/example.py", "from reports.models import Report", "orders may not import reports"),
        ("amazon_settings/x.py", "import config.settings", "amazon_settings may not import config"),
        ("amazon_settings/x.py", "from orders import models", "amazon_settings may not import"),
        ("core/x.py", "from amazon_settings.models import SellerAccount", "core may not import"),
        ("reports/x.py", "from amazon_sandbox import catalog", "reports may not import amazon"),
        ("config/x.py", "from amazon_sandbox.urls import urlpatterns", "config may not import"),
        ("amazon_sandbox/x.py", "from orders.models import Order", "amazon_sandbox may not"),
        ("amazon_settings/spapi/x.py", "from amazon_settings import models", "SP-API client"),
        ("reports/services/x.py", "from reports.views import home", "services may not import"),
        ("reports/services/x.py", "from ..forms import fields", "services may not import forms"),
        ("orders/x.py", "def f():\n    from reports import tasks", "orders may not import"),
    ],
)
def test_a_reversed_arrow_is_found(tmp_path, monkeypatch, path, source, expected):
    # The same walk over a file written for the occasion: proof that the test above can fail.
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    file = tmp_path / path
    file.parent.mkdir(parents=True)
    file.write_text(source + "\n", encoding="utf-8")
    (found,) = reversed_arrows([file])
    assert expected in found


def test_allowed_arrows_are_not_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    file = tmp_path / "reports" / "views" / "x.py"
    file.parent.mkdir(parents=True)
    file.write_text(
        "from core.pagination import LimitedCountPaginator\n"
        "from orders.models import Order\n"
        "from reports.services import requesting\n"
        "from django.db import models\n",
        encoding="utf-8",
    )
    assert reversed_arrows([file]) == []
