"""Compile the translation catalogues (locale/*/LC_MESSAGES/*.po) into the .mo files Django
reads, with polib (a PyPI package): no GNU gettext needed, so `make install` builds them on a
fresh machine. A .mo newer than its .po is left alone. Fuzzy entries are left out, as msgfmt
does.

    .venv/bin/python scripts/compile_messages.py [--force]
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def compile_catalogues(locale_dir: Path = LOCALE_DIR, *, force: bool = False) -> list[Path]:
    """Write each .po's .mo beside it when missing or older; return the ones written."""
    written = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        catalogue = polib.pofile(str(po_path))
        partial = mo_path.with_suffix(".mo.tmp")
        catalogue.save_as_mofile(str(partial))
        partial.replace(mo_path)  # a reader never sees half a file
        written.append(mo_path)
    return written


def main() -> None:
    for mo_path in compile_catalogues(force="--force" in sys.argv[1:]):
        print(f"Compiled {mo_path.relative_to(LOCALE_DIR.parent)}")


if __name__ == "__main__":
    main()
