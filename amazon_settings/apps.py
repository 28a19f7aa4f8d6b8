from django.apps import AppConfig


class AmazonSettingsConfig(AppConfig):
    name = "amazon_settings"
    verbose_name = "Amazon settings"

    def ready(self) -> None:
        # Registers the SP-API error sentences, so that stored ones are shown translated.
        from amazon_settings import stored_texts  # noqa: F401
