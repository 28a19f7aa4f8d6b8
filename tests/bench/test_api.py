"""`make bench-api` in its quick mode, small: a real sync over HTTP (gunicorn, PostgreSQL) that
reads every order exactly once and writes its section; and its plan from the environment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench import api as bench_api
from tests import scaleout


def test_the_plan_is_the_full_run_unless_quick_and_each_knob_overrides():
    full = bench_api.ApiPlan.from_environment({})
    assert (full.sizes, full.page_size, full.quick) == ((100_000, 1_000_000), 1000, False)
    quick = bench_api.ApiPlan.from_environment({"BENCH_API_QUICK": "1"})
    assert (quick.sizes, quick.page_size, quick.quick) == ((2_000, 5_000), 500, True)
    assert bench_api.ApiPlan.from_environment({"BENCH_API_QUICK": "0"}).quick is False
    knobs = {"BENCH_API_QUICK": "1", "BENCH_API_SIZES": "30,90", "BENCH_API_PAGE_SIZE": "7"}
    assert bench_api.ApiPlan.from_environment(knobs).sizes == (30, 90)
    assert bench_api.ApiPlan.from_environment(knobs).page_size == 7


def result(orders: int, **changes) -> bench_api.SyncResult:
    fields = {
        "orders": orders,
        "page_size": 1000,
        "pages": orders // 1000,
        "seconds": orders / 1000,
        "seed_seconds": 1.0,
        "rss_start_mb": 120.0,
        "rss_at_mb": {0.0: 120.0, 0.1: 130.0, 0.5: 131.0, 1.0: 132.0},
        "rss_peak_mb": 133.0,
        "duplicates": 0,
        "missing": 0,
        "load_max": 2.5,
    }
    return bench_api.SyncResult(**(fields | changes))


def test_the_section_names_the_machine_the_load_and_an_order_read_twice():
    report = bench_api.Report(
        plan=bench_api.ApiPlan(sizes=(100_000, 1_000_000), page_size=1000, quick=False),
        info={"CPUs (nproc)": "2", "PostgreSQL": "15.20"},
        load_start=1.5,
        results=[result(100_000), result(1_000_000, duplicates=2, missing=1, load_max=7.0)],
    )
    section = bench_api.render_markdown(report, now=datetime(2026, 12, 6, 16, 0, tzinfo=UTC))
    assert "### Run of 2026-12-06 16:00 UTC" in section
    assert "- CPUs (nproc): 2" in section and "- PostgreSQL: 15.20" in section
    assert "1.5 at the start, 7.0 at its highest" in section
    assert "| 100,000 | 100 | 100 s | 1.0 | 1,000 | 120 MiB | 130 MiB | 131 MiB" in section
    assert "**no**: 2 twice, 1 missing" in section
    assert "10x the orders took 10.0x the time" in section


@pytest.mark.slow
@pytest.mark.postgres
def test_a_quick_run_reads_every_order_exactly_once_over_http_and_writes_its_section(tmp_path):
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\nBefore.\n")
    plan = bench_api.ApiPlan.from_environment(
        # One small size: the migration alone takes 10-20 s; emptying the orders between sizes
        # is the full run's (it checks each size's count and reads every order once).
        {"BENCH_API_QUICK": "1", "BENCH_API_SIZES": "450", "BENCH_API_PAGE_SIZE": "100"}
    )

    report = bench_api.run(
        plan,
        admin_url=scaleout.ADMIN_URL,
        database_prefix=f"{scaleout.DATABASE_PREFIX}_bench_api",
        output=output,
    )

    assert [(r.orders, r.pages, r.duplicates, r.missing) for r in report.results] == [
        (450, 5, 0, 0)
    ]
    for r in report.results:
        assert r.seconds > 0
        assert 0 < r.rss_start_mb <= r.rss_peak_mb
        assert set(r.rss_at_mb) >= {0.1, 0.5, 1.0}
    text = output.read_text()
    assert text.startswith("# Benchmarks\n\nBefore.\n")
    section = text[text.index(bench_api.START_MARK) : text.index(bench_api.END_MARK)]
    assert "## Latest `make bench-api`" in text
    assert "(BENCH_API_QUICK=1)" in section
    assert "| 450 | 5 |" in section
    assert section.count("| yes |") == 1
