from django.urls import path

from amazon_settings import views

app_name = "amazon_settings"

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("connect/", views.connect_start, name="connect_start"),
    path("connect/callback/", views.connect_callback, name="connect_callback"),
    path("self-authorize/", views.self_authorize, name="self_authorize"),
    path("accounts/<int:pk>/renew/", views.renew, name="renew"),
    path("accounts/<int:pk>/disconnect/", views.disconnect, name="disconnect"),
    path("accounts/<int:pk>/test/", views.check_connection, name="test_connection"),
    path("accounts/<int:pk>/order-import/", views.order_import, name="order_import"),
    path("accounts/<int:pk>/push/", views.push_switch, name="push"),
    path("accounts/<int:pk>/marketplaces/", views.marketplaces, name="marketplaces"),
    path("log/", views.log, name="log"),
]
