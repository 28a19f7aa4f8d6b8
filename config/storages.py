"""Where raw report documents live: the local disk, or an S3 bucket shared by every machine.

`documents_storage` builds the `documents` entry of STORAGES from the settings that
config/settings.py reads from the environment; the tests build their S3 stand-in's entry with it
too, so both go through the same options.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

# Every call to the bucket: a connection must be made within S3_CONNECT_TIMEOUT seconds and each
# read answer within S3_READ_TIMEOUT; botocore's standard mode tries a failed call S3_ATTEMPTS
# times in all (throttling, 5xx, a dropped connection), then the report's own backoff retries.
S3_CONNECT_TIMEOUT = 5
S3_READ_TIMEOUT = 30
S3_ATTEMPTS = 3
# A multipart upload sends parts of this size (S3's minimum is 5 MiB), a few at a time.
S3_PART_BYTES = 8 * 1024 * 1024
S3_UPLOAD_THREADS = 4


def documents_storage(*, bucket: str, prefix: str = "", endpoint_url: str = "") -> dict[str, Any]:
    """The STORAGES entry for raw documents: S3 (django-storages, boto3's standard credentials
    and region) when `bucket` is given, else the local disk under MEDIA_ROOT.

    S3 objects are private: no ACL is sent (the bucket's own, private by default, applies) and
    the product never hands out their URLs; downloads go through the login-protected views.
    """
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    from boto3.s3.transfer import TransferConfig

    return {
        "BACKEND": "reports.storage.DocumentS3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "location": prefix.strip("/"),
            "endpoint_url": endpoint_url or None,
            "default_acl": None,
            "querystring_auth": True,
            # Names carry the report's id; never replace an object another row may name.
            "file_overwrite": False,
            "client_config": Config(
                connect_timeout=S3_CONNECT_TIMEOUT,
                read_timeout=S3_READ_TIMEOUT,
                retries={"mode": "standard", "total_max_attempts": S3_ATTEMPTS},
                # S3-compatible servers (MinIO, moto) name the bucket in the path.
                s3={"addressing_style": "path" if endpoint_url else "auto"},
            ),
            "transfer_config": TransferConfig(
                multipart_threshold=S3_PART_BYTES,
                multipart_chunksize=S3_PART_BYTES,
                max_concurrency=S3_UPLOAD_THREADS,
            ),
        },
    }
