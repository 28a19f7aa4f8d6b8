from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        # The worker's stored texts are translated wherever they are shown (Settings, too).
        from reports import stored_texts  # noqa: F401
        from reports.services.worker import yield_cpu_to_the_web

        # The worker's task processes give the web processes the CPU first.
        post_spawn.connect(yield_cpu_to_the_web, dispatch_uid="reports.yield_cpu_to_the_web")
