from django.apps import AppConfig


class AmazonSettingsConfig(AppConfig):
    name = "amazon_settings"
    verbose_name = "Amazon settings"
