from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import views
from core import views as core_views
from core.forms import LoginForm
from reports.views import home, profile

urlpatterns = [
    path("", home.home, name="home"),
    path("profile/", profile.profile, name="profile"),
    path("health/", views.health, name="health"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=LoginForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", core_views.set_language, name="set_language"),
    path("settings/", include("amazon_settings.urls")),
    path("reports/", include("reports.urls")),
    path("orders/", include("orders.urls")),
    path("administration/", include("core.urls")),
    path(
        "welcome/<uidb64>/<token>/",
        core_views.AcceptInvitationView.as_view(),
        name="accept_invitation",
    ),
    path("api/v1/", include("api.urls")),
    path("settings/api-tokens/", include("api.page_urls")),
    path("settings/webhooks/", include("api.webhook_urls")),
    path("admin/", admin.site.urls),
]
