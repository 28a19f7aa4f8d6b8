from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # The importers' stored texts are translated wherever they are shown.
        from orders import stored_texts  # noqa: F401
