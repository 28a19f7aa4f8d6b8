"""The client package stays plain Python: importing it must not import Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import amazon_settings.spapi

PACKAGE = Path(amazon_settings.spapi.__file__).parent
PROJECT = PACKAGE.parents[1]


def test_importing_the_package_loads_no_django():
    code = (
        "import sys, amazon_settings.spapi; "
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_mentions_django_imports():
    for path in PACKAGE.glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            assert not stripped.startswith(("import django", "from django")), path.name
