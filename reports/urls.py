from django.urls import path

from reports.views import (
    cadences,
    details,
    diagnosis,
    processing,
    report_schedules,
    requesting,
    uploads,
    where_is,
)

app_name = "reports"

urlpatterns = [
    path("", processing.processing, name="processing"),
    path("request/", requesting.request_page, name="request"),
    path("request/preview/", requesting.request_preview, name="request_preview"),
    path("schedules/", report_schedules.schedules, name="schedules"),
    path(
        "schedules/<int:account_pk>/create/",
        report_schedules.schedule_create,
        name="schedule_create",
    ),
    path(
        "schedules/<int:account_pk>/<str:schedule_id>/cancel/",
        report_schedules.schedule_cancel,
        name="schedule_cancel",
    ),
    path("empty/", processing.empty_reports, name="empty_reports"),
    path("start/<int:account_pk>/", cadences.start_import, name="start_import"),
    path("cadence/<int:account_pk>/", cadences.cadence_page, name="cadence"),
    path("cadence/<int:account_pk>/summary/", cadences.cadence_summary, name="cadence_summary"),
    path("upload/", uploads.upload, name="upload"),
    path("where-is/", where_is.where_is, name="where_is"),
    path("where-is/request/", where_is.where_is_request, name="where_is_request"),
    path("<int:pk>/", details.report_detail, name="detail"),
    path("<int:pk>/row/", processing.report_row, name="row"),
    path(
        "<int:pk>/row-errors.<str:export_format>",
        details.report_row_errors_export,
        name="row_errors_export",
    ),
    path("<int:pk>/download/", details.report_download, name="download"),
    path("<int:pk>/raw/", details.report_raw, name="raw"),
    path("<int:pk>/reset/", processing.report_action, {"action": "reset"}, name="reset"),
    path("<int:pk>/cancel/", processing.report_action, {"action": "cancel"}, name="cancel"),
    path("<int:pk>/skip/", processing.report_action, {"action": "skip"}, name="skip"),
    path("<int:pk>/confirm/", processing.report_action, {"action": "confirm"}, name="confirm"),
    path("diagnosis/", diagnosis.diagnosis_chooser, name="diagnosis_chooser"),
    path("diagnosis/<int:account_pk>/", diagnosis.diagnosis_page, name="diagnosis"),
    path(
        "diagnosis/<int:account_pk>/coverage/",
        diagnosis.diagnosis_coverage,
        name="diagnosis_coverage",
    ),
    path(
        "diagnosis/<int:account_pk>/connection-test/",
        diagnosis.diagnosis_connection_test,
        name="diagnosis_connection_test",
    ),
    path(
        "diagnosis/<int:account_pk>/request-gap/",
        diagnosis.diagnosis_request_gap,
        name="diagnosis_request_gap",
    ),
    path(
        "diagnosis/<int:account_pk>/import-start/",
        diagnosis.diagnosis_import_start,
        name="diagnosis_import_start",
    ),
]
