from django.urls import path

from core import views

app_name = "administration"

urlpatterns = [
    path("users/", views.user_list, name="users"),
    path("users/invite/", views.invite, name="invite"),
    path("users/<int:pk>/", views.user_detail, name="user"),
    path("users/<int:pk>/deactivate/", views.deactivate, name="deactivate"),
    path("users/<int:pk>/reactivate/", views.reactivate, name="reactivate"),
    path("users/<int:pk>/invitation/", views.resend_invitation, name="resend_invitation"),
    path("audit/", views.audit_log, name="audit"),
]
