from django.urls import path  # noqa: F401

app_name = "amazon_settings"

# Pages arrive with their issues; the navigation shows an entry only once its URL exists.
urlpatterns: list = []
