from django.urls import path  # noqa: F401

app_name = "orders"

# Pages arrive with their issues; the navigation shows an entry only once its URL exists.
urlpatterns: list = []
