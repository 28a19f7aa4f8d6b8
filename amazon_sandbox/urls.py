from django.urls import path

from amazon_sandbox import views

urlpatterns = [
    path("", views.index, name="index"),
]
