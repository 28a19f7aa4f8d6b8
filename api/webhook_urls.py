"""Settings » Webhooks: the pages for people (the deliveries themselves are the worker's)."""

from django.urls import path

from api import webhook_views as views

app_name = "api_webhooks"
urlpatterns = [
    path("", views.subscription_list, name="list"),
    path("<int:pk>/", views.subscription_detail, name="detail"),
    path("<int:pk>/secret/", views.reveal_secret, name="reveal_secret"),
    path("<int:pk>/enable/", views.enable, name="enable"),
    path("<int:pk>/disable/", views.disable, name="disable"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/deliveries/<int:delivery_id>/redeliver/", views.redeliver, name="redeliver"),
]
