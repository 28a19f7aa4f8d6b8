"""A worker process of the product under the fault matrix: `python -m scripts.fault_matrix.worker`.

It runs what the worker's schedules run (the heartbeat, which resumes interrupted imports, and
the pass that claims and advances due reports) every WORKER_INTERVAL_SECONDS until it is
killed: the process the kill rows stop with SIGKILL and start again. Its environment is the
product's (`product.product_environment`); FAULT_MATRIX_BREAK names a handler to break
(`breaks.py`). django-q2's own cluster is not used: its scheduler looks at the schedules about
every 30 seconds, which would bury the product's own delays.
"""

from __future__ import annotations

import os
import time

import django


def main() -> None:
    django.setup()
    from django.conf import settings

    from scripts.fault_matrix.breaks import ENV_VARIABLE, broken
    from scripts.fault_matrix.product import worker_pass

    with broken(os.environ.get(ENV_VARIABLE) or None):
        while True:
            worker_pass()
            time.sleep(settings.WORKER_INTERVAL_SECONDS)


if __name__ == "__main__":
    main()
