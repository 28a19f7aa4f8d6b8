"""Where the CPU time of a benchmark's window went: per server (by process session), the
PostgreSQL backends of one database, this process, and the rest of the machine, from /proc."""

from __future__ import annotations

import os
from dataclasses import dataclass

from bench.results import libpq_url

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> tuple[int, float] | None:
    """(session id, CPU seconds so far) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    # After the command's closing parenthesis: state is field 3; session 6, utime 14, stime 15.
    return int(fields[3]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _machine_busy_seconds() -> float:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


@dataclass(frozen=True)
class CpuSnapshot:
    by_process: dict[int, tuple[int, float]]
    postgres_pids: frozenset[int]
    machine_busy: float
    generator: float


def cpu_snapshot(admin_url: str, database: str) -> CpuSnapshot:
    """Every process's CPU time, which server processes serve our database, the machine's busy
    time and this process's (the load generator's) CPU time."""
    import psycopg

    by_process = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (cpu := _process_cpu(int(entry))) is not None:
            by_process[int(entry)] = cpu
    with psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [database]
        ).fetchall()
    usage = os.times()
    return CpuSnapshot(
        by_process=by_process,
        postgres_pids=frozenset(pid for (pid,) in rows),
        machine_busy=_machine_busy_seconds(),
        generator=usage.user + usage.system,
    )


def cpu_use(before: CpuSnapshot, after: CpuSnapshot, sessions: dict[str, int]) -> dict[str, float]:
    """CPU seconds between the snapshots: per server (by session), the PostgreSQL backends of
    our database, the load generator, and the rest of the machine (other people's work)."""

    def spent(pids: set[int]) -> float:
        total = 0.0
        for pid in pids:
            end = after.by_process.get(pid)
            if end is None:
                continue  # exited in the window: its time is lost, a small undercount
            start = before.by_process.get(pid)
            total += end[1] - (start[1] if start else 0.0)
        return total

    used: dict[str, float] = {}
    for name, session in sessions.items():
        used[name] = spent({pid for pid, (sid, _) in after.by_process.items() if sid == session})
    used["PostgreSQL (this database)"] = spent(set(before.postgres_pids | after.postgres_pids))
    used["load generator"] = after.generator - before.generator
    ours = sum(used.values())
    used["rest of the machine"] = max(0.0, after.machine_busy - before.machine_busy - ours)
    return used
