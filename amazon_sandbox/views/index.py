"""`GET /`: what this sandbox serves, for people and for the demo's readiness check."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from amazon_sandbox import control
from amazon_sandbox.catalog import DEMO_SELLERS, REPORT_TYPES


@require_GET
def index(request: HttpRequest) -> JsonResponse:
    base = request.build_absolute_uri("/").rstrip("/")
    return JsonResponse(
        {
            "service": "amazon-sandbox",
            "time_factor": settings.SANDBOX_TIME_FACTOR,
            "clock": control.clock_state(),
            "app": control.app_state(),
            "sellers": [
                {
                    "selling_partner_id": s.selling_partner_id,
                    "region": s.region,
                    "store_name": s.store_name,
                    "marketplace_ids": list(s.marketplace_ids),
                }
                for s in DEMO_SELLERS
            ],
            "report_types": sorted(REPORT_TYPES),
            "paths": {
                "consent": f"{base}/{{region}}/apps/authorize/consent",
                "lwa_token": f"{base}/auth/o2/token",
                "spapi_endpoint": f"{base}/{{region}}",
                "documents": f"{base}/documents/{{reportDocumentId}}",
                "sqs_endpoint": settings.SANDBOX_SQS_ENDPOINT_URL or None,
                "regions": ["eu", "na"],
            },
            "control": {
                "docs": "amazon_sandbox/README.md",
                "endpoints": [
                    "POST /_control/reset",
                    "GET|POST /_control/clock",
                    "GET|POST /_control/app",
                    "POST /_control/sellers/{id}/refresh-token",
                    "POST /_control/sellers/{id}/revoke",
                    "GET|POST /_control/sellers/{id}/orders",
                    "GET|POST /_control/reports",
                    "GET|POST /_control/reports/{reportId}",
                    "POST /_control/documents/{reportDocumentId}",
                    "GET|POST|DELETE /_control/faults",
                    "GET /_control/notifications",
                    "GET /_control/calls",
                ],
            },
        }
    )
