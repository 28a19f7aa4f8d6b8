from django.urls import path

from reports import diagnosis_views, upload_views, views, where_is_views

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
    path("upload/", upload_views.upload, name="upload"),
    path("where-is/", where_is_views.where_is, name="where_is"),
    path("where-is/request/", where_is_views.where_is_request, name="where_is_request"),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>/row/", views.report_row, name="row"),
    path("<int:pk>/download/", views.report_download, name="download"),
    path("<int:pk>/raw/", views.report_raw, name="raw"),
    path("<int:pk>/reset/", views.report_action, {"action": "reset"}, name="reset"),
    path("<int:pk>/cancel/", views.report_action, {"action": "cancel"}, name="cancel"),
    path("<int:pk>/skip/", views.report_action, {"action": "skip"}, name="skip"),
    path("<int:pk>/confirm/", views.report_action, {"action": "confirm"}, name="confirm"),
    # "Orders missing?" (reports/diagnosis_views.py)
    path("diagnosis/", diagnosis_views.diagnosis_chooser, name="diagnosis_chooser"),
    path("diagnosis/<int:account_pk>/", diagnosis_views.diagnosis_page, name="diagnosis"),
    path(
        "diagnosis/<int:account_pk>/coverage/",
        diagnosis_views.diagnosis_coverage,
        name="diagnosis_coverage",
    ),
    path(
        "diagnosis/<int:account_pk>/request-gap/",
        diagnosis_views.diagnosis_request_gap,
        name="diagnosis_request_gap",
    ),
    path(
        "diagnosis/<int:account_pk>/import-start/",
        diagnosis_views.diagnosis_import_start,
        name="diagnosis_import_start",
    ),
]
