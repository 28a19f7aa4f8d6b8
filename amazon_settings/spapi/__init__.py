"""The Selling Partner API client: plain Python, no Django, so it can be tested and lifted out.

Build one ``SpApiClient`` per seller authorisation and region; give it a token provider (see
``auth.TokenProvider``), a ``requests.Session`` and, in the product, the shared rate limiter.
"""

from .auth import AppCredentials, CachingTokenProvider, LwaClient, TokenProvider
from .client import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    DEFAULT_PAYLOAD_VERSION,
    SpApiClient,
)
from .documents import (
    CharsetChoice,
    CharsetFacts,
    charset_facts,
    choose_charset,
    decode_document,
    gunzip,
    normalise_charset,
)
from .errors import (
    DocumentCorrupt,
    DocumentError,
    DocumentTooLarge,
    DocumentUndecodable,
    DocumentUrlExpired,
    SpApiAuthError,
    SpApiError,
    SpApiRequestError,
    SpApiThrottled,
    SpApiTransientError,
    error_from_response,
)
from .ratelimit import (
    OPERATION_LIMITS,
    BucketState,
    InMemoryTokenBucket,
    RateLimit,
    RateLimiter,
    take_token,
)
from .types import (
    AccessToken,
    CallRecord,
    Destination,
    DownloadedDocument,
    MarketplaceParticipation,
    Report,
    ReportDocument,
    ReportPage,
    ReportSchedule,
    RestrictedDataToken,
    Subscription,
    TokenGrant,
)

__all__ = [
    "DEFAULT_MAX_DOCUMENT_BYTES",
    "DEFAULT_PAYLOAD_VERSION",
    "OPERATION_LIMITS",
    "AccessToken",
    "AppCredentials",
    "BucketState",
    "CachingTokenProvider",
    "CallRecord",
    "CharsetChoice",
    "CharsetFacts",
    "Destination",
    "DocumentCorrupt",
    "DocumentError",
    "DocumentTooLarge",
    "DocumentUndecodable",
    "DocumentUrlExpired",
    "DownloadedDocument",
    "InMemoryTokenBucket",
    "LwaClient",
    "MarketplaceParticipation",
    "RateLimit",
    "RateLimiter",
    "Report",
    "ReportDocument",
    "ReportPage",
    "ReportSchedule",
    "RestrictedDataToken",
    "SpApiAuthError",
    "SpApiClient",
    "SpApiError",
    "SpApiRequestError",
    "SpApiThrottled",
    "SpApiTransientError",
    "Subscription",
    "TokenGrant",
    "TokenProvider",
    "charset_facts",
    "choose_charset",
    "decode_document",
    "error_from_response",
    "gunzip",
    "normalise_charset",
    "take_token",
]
