from django.urls import path

from amazon_sandbox.views import consent, control, documents, index, lwa, notifications, spapi

_REPORTS = "<str:region>/reports/2021-06-30"
_NOTIFICATIONS = "<str:region>/notifications/v1"

urlpatterns = [
    path("", index.index, name="index"),
    # Seller Central and Login with Amazon.
    path("<str:region>/apps/authorize/consent", consent.consent, name="consent"),
    path("auth/o2/token", lwa.token, name="lwa-token"),
    # Selling Partner API, one prefix per regional endpoint.
    path(
        "<str:region>/sellers/v1/marketplaceParticipations",
        spapi.participations,
        name="marketplace-participations",
    ),
    path(f"{_REPORTS}/reports", spapi.reports_collection, name="reports"),
    path(f"{_REPORTS}/reports/<str:report_id>", spapi.report_item, name="report"),
    path(f"{_REPORTS}/schedules", spapi.schedules_collection, name="schedules"),
    path(f"{_REPORTS}/schedules/<str:schedule_id>", spapi.schedule_item, name="schedule"),
    path(f"{_REPORTS}/documents/<str:document_id>", spapi.document_item, name="report-document"),
    path(
        "<str:region>/tokens/2021-03-01/restrictedDataToken",
        spapi.restricted_data_tokens,
        name="restricted-data-token",
    ),
    path(f"{_NOTIFICATIONS}/destinations", notifications.destinations, name="destinations"),
    path(
        f"{_NOTIFICATIONS}/subscriptions/<str:notification_type>",
        notifications.subscriptions,
        name="subscriptions",
    ),
    path(
        f"{_NOTIFICATIONS}/subscriptions/<str:notification_type>/<str:subscription_id>",
        notifications.subscription_item,
        name="subscription",
    ),
    # The presigned document URLs (S3's part).
    path("documents/<str:document_id>", documents.download, name="document-download"),
    # The control API (not Amazon's).
    path("_control/reset", control.reset),
    path("_control/clock", control.clock),
    path("_control/history", control.history),
    path("_control/app", control.app),
    path("_control/sellers/<str:seller_id>/refresh-token", control.refresh_token),
    path("_control/sellers/<str:seller_id>/revoke", control.revoke),
    path("_control/sellers/<str:seller_id>/orders", control.orders),
    path("_control/reports", control.reports),
    path("_control/reports/<str:report_id>", control.report),
    path("_control/documents/<str:document_id>", control.document),
    path("_control/faults", control.faults),
    path("_control/notifications", control.notifications),
    path("_control/notifications/publish", control.publish_notifications),
    path("_control/calls", control.calls),
]
