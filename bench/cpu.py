"""Where the CPU time of a benchmark's window went: per server (by process session), the
PostgreSQL backends of one database, this process, and the rest of the machine, from /proc."""

from __future__ import annotations

import os
from dataclasses import dataclass

from bench.results import libpq_url

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command's closing parenthesis (index 0 is
    field 3, the state), None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:
        return None


def _process_cpu(pid: int) -> tuple[int, float] | None:
    """(session id, CPU seconds so far) of a process, None when it is gone."""
    fields = _stat(pid)
    if fields is None:
        return None
    # Field 6 is the session, 14 and 15 the user and system time.
    return int(fields[3]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _finished_children_cpu(pid: int) -> float:
    """CPU seconds of the process's children that have exited (fields 16 and 17)."""
    fields = _stat(pid)
    return (int(fields[13]) + int(fields[14])) / CLOCK_TICKS if fields else 0.0


def _machine_busy_seconds() -> float:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


@dataclass(frozen=True)
class CpuSnapshot:
    by_process: dict[int, tuple[int, float]]
    postgres_pids: frozenset[int]
    # PostgreSQL's server process collects the CPU time of the processes it started that have
    # exited since: the parallel workers a query starts and stops, but also any database's
    # connections that ended.
    postgres_finished: float
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
    pids = frozenset(pid for (pid,) in rows)
    postmasters = {int(fields[1]) for pid in pids if (fields := _stat(pid)) is not None}
    return CpuSnapshot(
        by_process=by_process,
        postgres_pids=pids,
        postgres_finished=sum(_finished_children_cpu(pid) for pid in postmasters),
        machine_busy=_machine_busy_seconds(),
        generator=usage.user + usage.system,
    )


def cpu_use(before: CpuSnapshot, after: CpuSnapshot, sessions: dict[str, int]) -> dict[str, float]:
    """CPU seconds between the snapshots: per server (by session), the PostgreSQL backends of
    our database, PostgreSQL's processes that ended meanwhile, the load generator, and the rest
    of the machine (other people's work, PostgreSQL's background writers)."""

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
    ended = "PostgreSQL, ended processes (closed connections, autovacuum and parallel workers; any database)"  # noqa: E501
    used[ended] = max(0.0, after.postgres_finished - before.postgres_finished)
    used["load generator"] = after.generator - before.generator
    ours = sum(used.values())
    used["rest of the machine"] = max(0.0, after.machine_busy - before.machine_busy - ours)
    return used
