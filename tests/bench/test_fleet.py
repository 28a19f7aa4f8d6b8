"""`make bench-fleet`'s pure parts: its plan from the environment, percentiles, the goals and
the section it writes into BENCHMARKS.md. The run itself is `make bench-fleet`."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.fleet import (
    FleetPlan,
    FleetResult,
    Latencies,
    PassCost,
    SideCost,
    goals,
    orders_a_day_for,
    render_markdown,
)

WHEN = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def result(**changes) -> FleetResult:
    fields = {
        "push": Latencies.of([3.0, 1.0, 2.0, 9.0]),
        "polling": Latencies.of([40.0, 70.0, 20.0]),
        "reports_imported": 7,
        "orders_imported": 10_000,
        "calls": 50,
        "calls_by_operation": {"Reports.getReports": 30, "Reports.getReportDocument": 20},
        "throttled": 2,
        "throttled_steady": 0,
        "passes": (PassCost(100, 0.2, 17), PassCost(1000, 0.5, 17)),
        "import_seconds_p95": 1.5,
    }
    return FleetResult(**(fields | changes))


def test_the_plan_is_the_full_run_unless_quick_and_each_knob_overrides():
    full = FleetPlan.from_environment({})
    assert (full.quick, full.sellers, full.pass_sizes) == (False, 1000, (100, 1000))
    assert full.report_every_seconds == 15 * 60 / full.time_factor
    quick = FleetPlan.from_environment({"BENCH_FLEET_QUICK": "1"})
    assert (quick.quick, quick.sellers, quick.measure_seconds) == (True, 20, 60)
    assert quick.pass_sizes == (2, 20)
    assert FleetPlan.from_environment({"BENCH_FLEET_QUICK": "0"}).quick is False
    assert FleetPlan.from_environment({"BENCH_FLEET_SELLERS": "300"}).sellers == 300


def test_latencies_are_sorted_with_nearest_rank_percentiles():
    latencies = Latencies.of([5.0, 1.0, 4.0, 2.0, 3.0], pending=1)
    assert latencies.seconds == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert (latencies.count, latencies.p50, latencies.p95, latencies.max) == (5, 3.0, 5.0, 5.0)
    assert latencies.pending == 1
    assert Latencies.of([]).p95 == 0.0
    assert Latencies.of(list(map(float, range(1, 101)))).p95 == 95.0


def test_each_goal_is_met_or_not_with_its_figures():
    met = {g.name: g for g in goals(result(), worker_interval_seconds=60)}
    push, polling, throttled, calls, passes = met.values()
    assert push.met and "p95 9.0 s over 4 reports" in push.figures
    # 70 s > 60 s interval + 1.5 s import.
    assert not polling.met and "bound 60 s + 1.5 s = 61.5 s" in polling.figures
    assert throttled.met and "0 in the window (2 in the whole run)" in throttled.figures
    assert calls.met and "0.01 (50 calls for 10,000 new orders)" in calls.figures
    assert passes.met and "2.5x the time, 1.0x the queries" in passes.figures

    missed = goals(
        result(
            push=Latencies.of([1.0], pending=1),
            throttled_steady=3,
            calls=101,
            passes=(PassCost(100, 0.1, 10), PassCost(1000, 0.2, 60)),
        ),
        worker_interval_seconds=60,
    )
    assert [g.met for g in missed] == [False, False, False, False, False]
    assert "1 not imported by the end" in missed[0].figures
    assert "6.0x the queries" in missed[4].figures
    assert not goals(result(orders_imported=0), worker_interval_seconds=60)[3].met


def test_the_section_names_the_machine_the_plan_and_every_goal():
    plan = FleetPlan.from_environment({"BENCH_FLEET_QUICK": "1"})
    text = render_markdown(
        info={"CPUs (nproc)": "2", "Commit": "abc1234"},
        plan=plan,
        result=result(),
        when=WHEN,
        redis=True,
    )
    assert text.startswith("### Run of 2026-12-06 12:00 UTC (quick)\n")
    assert "- CPUs (nproc): 2" in text
    assert "20 sandbox sellers" in text and "Redis as broker and cache" in text
    assert "| with push | 4 | 2.0 | 9.0 | 9.0 | 0 |" in text
    assert "| polling only | 3 | 40.0 | 70.0 | 70.0 | 0 |" in text
    assert "| 1,000 | 500 | 17 |" in text
    assert text.count("**met**") == 4 and text.count("**not met**") == 1
    assert text.endswith("|\n")


def test_the_calls_are_split_by_side_with_the_arithmetic_of_orders_per_report():
    plan = FleetPlan.from_environment({})  # 600 orders a day, time factor 4
    sides = {
        "push": SideCost(10, 20, 20, {"Reports.getReportDocument": 10, "Tokens.x": 10}),
        "polling": SideCost(5, 10, 45, {"Reports.getReports": 40, "Reports.getReportDocument": 5}),
    }
    text = render_markdown(info={}, plan=plan, result=result(sides=sides), when=WHEN, redis=True)
    assert "| with push | 10 | 20 | 20 | 2.00 | 1.00 | Reports.getReportDocument 10," in text
    assert "| polling only | 5 | 10 | 45 | 9.00 | 4.50 |" in text
    # 600 a real day, a report every 225 s: 1.56 new orders each; 6.25 on Amazon's schedule.
    assert plan.new_orders_per_report == 600 * 225 / 86_400
    assert "about 1.56 new orders per report" in text
    assert "15-minute schedule has 6.25 per report" in text and "0.32 calls per order" in text
    assert orders_a_day_for(2, calls_per_order=0.01) == 19_200
    assert "a seller with 19,200 orders a day" in text
    # Without the split (an older result), the section is as before.
    plain = render_markdown(info={}, plan=plan, result=result(), when=WHEN, redis=True)
    assert "SP-API calls in the window" not in plain
