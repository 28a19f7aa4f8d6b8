"""Where the tests' data files live: inside the repository, never beside it (tests/data)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
AMAZON_MODELS_DIR = DATA_DIR / "amazon_models"
SAMPLES_DIR = DATA_DIR / "samples"


@cache
def report_headers() -> dict[str, list[str]]:
    """Each flat-file report type's header line, as recorded in `data/report_headers.tsv`."""
    headers = {}
    for line in (DATA_DIR / "report_headers.tsv").read_text(encoding="utf-8").splitlines():
        report_type, *columns = line.split("\t")
        headers[report_type] = columns
    return headers
