from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.processing, name="processing"),
    path("request/", views.request_page, name="request"),
    path("request/preview/", views.request_preview, name="request_preview"),
    path("schedules/", views.schedules, name="schedules"),
    path("schedules/<int:account_pk>/create/", views.schedule_create, name="schedule_create"),
    path(
        "schedules/<int:account_pk>/<str:schedule_id>/cancel/",
        views.schedule_cancel,
        name="schedule_cancel",
    ),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>/row/", views.report_row, name="row"),
    path("<int:pk>/download/", views.report_download, name="download"),
    path("<int:pk>/raw/", views.report_raw, name="raw"),
    path("<int:pk>/reset/", views.report_action, {"action": "reset"}, name="reset"),
    path("<int:pk>/cancel/", views.report_action, {"action": "cancel"}, name="cancel"),
    path("<int:pk>/skip/", views.report_action, {"action": "skip"}, name="skip"),
    path("<int:pk>/confirm/", views.report_action, {"action": "confirm"}, name="confirm"),
]
