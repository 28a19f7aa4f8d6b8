from django.apps import AppConfig


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        # The webhook pages' stored texts are translated where they are shown.
        from api import stored_texts  # noqa: F401
