"""Benchmark documents: big report files from the sandbox generator, cached under var/bench/.

The generator's sellers sell a few orders a day; here one of them sells the generator's maximum
(999 orders a day) and the document covers as many days as it takes. Documents are written in
windows of days, so the generator never holds more than a window (plus the shipments report's
look-back) of rendered rows; the windows follow each other, so the file is what one report over
the whole range would be. The file is cut after exactly `rows` data rows.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from amazon_sandbox.catalog import DEMO_SELLERS, DemoSeller
from amazon_sandbox.generator import render_report

MFN = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
FBA = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING"
REPORT_TYPES = (MFN, FBA)

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
FIRST_DAY = NOW - timedelta(days=700)  # inside the generator's 730-day history
WINDOW = timedelta(days=20)
# Bump when the generator or the cutting changes, so stale cached files are not reused.
FORMAT_VERSION = 2


def bench_seller() -> DemoSeller:
    """The EU demo seller (Müller), selling as much as the generator allows."""
    return dataclasses.replace(DEMO_SELLERS[0], orders_per_day=999.0)


def document_path(cache_dir: Path, report_type: str, rows: int) -> Path:
    return cache_dir / f"{report_type}-{rows}-v{FORMAT_VERSION}.tsv"


def ensure_document(cache_dir: Path, report_type: str, rows: int) -> Path:
    """The cached document of `report_type` with exactly `rows` data rows; generated if missing.

    A smaller document is the first rows of a bigger cached one when that exists.
    """
    path = document_path(cache_dir, report_type, rows)
    if path.exists():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    bigger = sorted(cache_dir.glob(f"{report_type}-*-v{FORMAT_VERSION}.tsv"))
    for candidate in bigger:
        size = int(candidate.name.split("-")[-2])
        if size >= rows:
            _write_prefix(candidate, path, rows)
            return path
    _generate(path, report_type, rows)
    return path


def _write_prefix(source: Path, target: Path, rows: int) -> None:
    partial = target.with_suffix(".part")
    with (
        source.open(encoding="utf-8", newline="") as reader,
        partial.open("w", encoding="utf-8", newline="") as writer,
    ):
        for index, line in enumerate(reader):
            if index > rows:
                break
            writer.write(line)
    partial.replace(target)


def _generate(path: Path, report_type: str, rows: int) -> None:
    seller = bench_seller()
    partial = path.with_suffix(".part")
    written = 0
    start = FIRST_DAY
    with partial.open("w", encoding="utf-8", newline="") as out:
        while written < rows:
            if start >= NOW:
                raise RuntimeError(f"The generator's history has fewer than {rows} rows")
            end = min(start + WINDOW, NOW)
            text = render_report(
                report_type,
                seller=seller,
                marketplace_ids=seller.marketplace_ids,
                data_start=start,
                data_end=end,
                now=NOW,
            ).text
            lines = text.splitlines(keepends=True)
            header, body = lines[0], lines[1:]
            if written == 0:
                out.write(header)
            body = body[: rows - written]
            out.writelines(body)
            written += len(body)
            start = end
    partial.replace(path)
