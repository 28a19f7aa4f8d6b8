from django.apps import AppConfig


class AmazonSandboxConfig(AppConfig):
    name = "amazon_sandbox"
    verbose_name = "Amazon sandbox"
