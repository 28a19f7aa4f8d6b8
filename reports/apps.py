from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        # The worker's stored texts are translated wherever they are shown (Settings, too).
        from reports import stored_texts  # noqa: F401
