"""Settings of the product under the fault matrix: the product's own, from the environment the
harness sets (DEMO_MODE, a throwaway VAR_DIR, the sandbox's URL, short leases), with two
changes that keep the harness in charge of its output and its timing.

- django-q2 runs a task inline when it is handed out (`sync`): no cluster runs here; the
  harness's worker passes stand for it.
- The product's log goes to a file in VAR_DIR, so that the table is all the output.
"""

from config.settings import *  # noqa: F403

Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405

LOGGING = {
    **LOGGING,  # noqa: F405
    "handlers": {
        "console": {
            "class": "logging.FileHandler",
            "filename": str(VAR_DIR / "product.log"),  # noqa: F405
            "formatter": "plain",
        }
    },
}
