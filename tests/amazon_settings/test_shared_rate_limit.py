"""The client-side token bucket is shared: N worker processes together stay inside one rate."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

RATE, BURST, SECONDS, PROCESSES = 4.0, 3, 3.0, 4

WORKER = f"""
import json, time
from amazon_settings.ratelimit import DatabaseTokenBucket
from amazon_settings.spapi.ratelimit import RateLimit
bucket = DatabaseTokenBucket()
limit = RateLimit(rate={RATE}, burst={BURST})
stamps = []
start = time.time()
while time.time() - start < {SECONDS}:
    bucket.acquire("seller:Reports.getReport", limit, max_wait=30)
    stamps.append(time.time())
print(json.dumps(stamps))
"""


def manage(args: list[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_worker_processes_together_stay_inside_the_rate(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        {"DEMO_MODE": "1", "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    )
    migrate = manage(["migrate", "--no-input", "-v", "0"], env)
    assert migrate.wait(timeout=120) == 0, migrate.stderr.read()

    workers = [manage(["shell", "--no-imports", "-c", WORKER], env) for _ in range(PROCESSES)]
    stamps = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        stamps.extend(json.loads(out.strip().splitlines()[-1]))
    stamps.sort()

    # Every process got tokens, and in every window the calls never exceed burst + rate * window.
    assert len(stamps) >= BURST + 1
    for i, first in enumerate(stamps):
        for j in range(i, len(stamps)):
            window = stamps[j] - first
            allowed = BURST + RATE * window + 1e-6
            assert j - i + 1 <= allowed + 1, (j - i + 1, window)
    total_window = stamps[-1] - stamps[0]
    assert len(stamps) <= BURST + RATE * total_window + 1
