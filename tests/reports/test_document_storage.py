"""Raw documents in S3 (django-storages through the local stand-in, moto's server): stored,
streamed back, deleted, imported; shared between a worker process and the web side through S3
only; and a store that fails is retried with a clear reason, nothing lost."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tracemalloc
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from amazon_settings.models import SellerAccount
from config.storages import documents_storage
from orders.models import Order
from reports import documents
from reports.models import Report
from reports.services import pipeline, requesting, transitions
from reports.services.privacy import delete_personal_documents
from reports.stored_texts import stored_moment
from tests.amazon_fixtures import mfn_report_orders
from tests.moto_server import CREDENTIALS, REGION, free_port

pytestmark = pytest.mark.django_db

Status = Report.ImportStatus
CP1252_LINES = "order-id\tbuyer-name\tsku\n" + "".join(
    f"302-{n:07d}-{n:07d}\tJosé Müller\tSKU-{n}\n" for n in range(30_000)
)


@pytest.fixture
def s3(moto, settings, tmp_path, monkeypatch):
    """Documents in a fresh folder of a bucket on the local S3 stand-in, with boto3's
    standard credentials from the environment. MEDIA_ROOT points at a directory that must stay
    absent: nothing may reach the local disk."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    bucket = moto.create_bucket("documents")
    prefix = f"test-{secrets.token_hex(4)}"
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media

    def use(*, bucket: str = bucket, endpoint_url: str = moto.endpoint_url) -> None:
        settings.STORAGES = {
            **django_settings.STORAGES,
            "documents": documents_storage(bucket=bucket, prefix=prefix, endpoint_url=endpoint_url),
        }

    use()
    yield SimpleNamespace(moto=moto, bucket=bucket, prefix=prefix, use=use, media=media)
    assert not media.exists(), "a document reached the local disk"


@pytest.fixture
def account() -> SellerAccount:
    return SellerAccount.objects.create(
        selling_partner_id="A1STORAGETEST1", region="eu", display_name="Storage Shop"
    )


def stored_report(account, content: bytes, *, charset: str) -> Report:
    report = Report.objects.create(
        account=account,
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        import_status=Status.IMPORTED,
        downloaded_at=timezone.now() - timedelta(days=40),
    )
    documents.store_raw_document(report, content, charset=charset)
    report.save()
    return report


def test_a_document_round_trips_through_s3(s3, account, logged_in_client):
    content = CP1252_LINES.encode("cp1252")
    stored_between = [timezone.localtime()]
    report = stored_report(account, content, charset="cp1252")
    stored_between.append(timezone.localtime())

    # In the bucket under the prefix, private (the owner's grant alone), never on the disk.
    key = f"{s3.prefix}/{report.raw_file.name}"
    assert s3.moto.keys(s3.bucket, s3.prefix) == [key]
    # Filed under the month it was stored in, in the product's time zone (a month may turn).
    assert report.raw_file.name in {
        f"reports/{moment:%Y/%m}/report-{report.pk}.txt" for moment in stored_between
    }
    assert s3.moto.object(s3.bucket, key)["Body"] == content
    grants = s3.moto.s3.get_object_acl(Bucket=s3.bucket, Key=key)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert {grant["Grantee"]["Type"] for grant in grants} == {"CanonicalUser"}
    with pytest.raises(NotImplementedError):
        report.raw_file.url  # noqa: B018

    # Read back as the importer reads it, and twice from one row (a new stream each time).
    with documents.open_text(report) as stream:
        assert stream.read() == CP1252_LINES
    with documents.open_raw(report) as handle:
        assert handle.read(8) == b"order-id"
    with documents.open_raw(report) as handle:
        assert handle.read() == content

    # Served by the login-protected views, streamed; the page's preview reads it too.
    download = logged_in_client.get(f"/reports/{report.pk}/download/")
    assert download.status_code == 200 and download.streaming
    assert b"".join(download.streaming_content) == content
    raw = logged_in_client.get(f"/reports/{report.pk}/raw/")
    assert b"".join(raw.streaming_content).decode() == CP1252_LINES
    assert "José Müller" in logged_in_client.get(f"/reports/{report.pk}/").content.decode()

    # Deleted by the data-protection pass, from the bucket.
    assert delete_personal_documents(older_than_days=30) == 1
    assert s3.moto.keys(s3.bucket, s3.prefix) == []
    assert logged_in_client.get(f"/reports/{report.pk}/download/").status_code == 404


def test_a_big_document_is_read_from_s3_a_chunk_at_a_time(s3, account):
    content = b"x" * (24 * 1024 * 1024)
    report = stored_report(account, content, charset="utf-8")
    read = 0
    tracemalloc.start()
    try:
        with documents.open_raw(report) as handle:
            while chunk := handle.read(64 * 1024):
                read += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read == len(content)
    # The whole object in memory would be 24 MiB; a stream holds about one buffer.
    assert peak < 4 * 1024 * 1024, f"{peak:,} bytes held while reading"


@pytest.fixture
def no_broker(monkeypatch):
    """The test drives the worker's steps itself instead of a django-q2 cluster."""
    monkeypatch.setattr("reports.services.transitions.async_task", lambda *a, **k: None)


def request_mfn(account) -> Report:
    end = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    (report,) = requesting.request_reports(
        account,
        kind_key="mfn_orders_eu",
        marketplace_ids=list(account.marketplaces.values_list("marketplace_id", flat=True)),
        start=end - timedelta(days=2),
        end=end,
        acting_user=None,
    )
    return report


def advance(report: Report, amazon, *, stop_at: str | None = None) -> Report:
    """One worker step, due now, then a second of Amazon's time."""
    Report.objects.filter(pk=report.pk).update(next_attempt_at=None)
    (claimed,) = transitions.claim_reports(ids=[report.pk])
    pipeline.advance_report(*claimed, stop_at=stop_at)
    amazon.advance_clock(1)
    report.refresh_from_db()
    return report


def until(report: Report, amazon, status: str) -> Report:
    for _ in range(40):
        if report.import_status == status or report.is_finished:
            break
        report = advance(report, amazon, stop_at=status)
    assert report.import_status == status, report.last_error
    return report


def test_a_gzip_document_from_amazon_is_stored_in_s3_and_imported(
    s3, eu_account, amazon, no_broker
):
    report = request_mfn(eu_account)
    expected = mfn_report_orders(amazon, report.data_start, report.data_end)
    report = until(report, amazon, Status.IMPORTED)
    assert s3.moto.keys(s3.bucket, s3.prefix) == [f"{s3.prefix}/{report.raw_file.name}"]
    assert set(Order.objects.values_list("amazon_order_id", flat=True)) == expected.keys()
    assert report.rows_created == sum(expected.values())
    # The import read Amazon's gunzipped bytes, as stored.
    stored = s3.moto.object(s3.bucket, f"{s3.prefix}/{report.raw_file.name}")["Body"]
    assert report.raw_size == len(stored) and not stored.startswith(b"\x1f\x8b")


@pytest.mark.parametrize(
    "broken, says",
    [
        ("stopped", "Could not store the document: S3 did not answer (Could not connect"),
        ("refused", "Could not store the document: S3 refused it (NoSuchBucket: "),
    ],
)
def test_a_failing_store_is_retried_with_its_reason_and_nothing_is_lost(
    s3, eu_account, amazon, no_broker, broken, says
):
    report = until(request_mfn(eu_account), amazon, Status.DOWNLOADING)
    expected = mfn_report_orders(amazon, report.data_start, report.data_end)
    if broken == "stopped":
        s3.use(endpoint_url=f"http://127.0.0.1:{free_port()}")
    else:
        s3.use(bucket=f"missing-{secrets.token_hex(4)}")

    report = advance(report, amazon)
    assert report.import_status == Status.DOWNLOADING
    assert report.last_error.startswith(says), report.last_error
    assert report.last_error.endswith(f"Trying again at {stored_moment(report.next_attempt_at)}.")
    assert report.attempts == 1 and report.next_attempt_at > timezone.now()
    assert not report.raw_file and not report.leased_until
    assert says in report.events.last().message

    # The store is back: the next attempt downloads again, stores and imports everything.
    s3.use()
    report = until(report, amazon, Status.IMPORTED)
    assert set(Order.objects.values_list("amazon_order_id", flat=True)) == expected.keys()
    assert s3.moto.keys(s3.bucket, s3.prefix) == [f"{s3.prefix}/{report.raw_file.name}"]


def test_a_store_that_stays_down_fails_the_report_for_that_reason(
    s3, eu_account, amazon, no_broker
):
    report = until(request_mfn(eu_account), amazon, Status.DOWNLOADING)
    Report.objects.filter(pk=report.pk).update(attempts=transitions.MAX_ATTEMPTS - 1)
    s3.use(endpoint_url=f"http://127.0.0.1:{free_port()}")
    report = advance(report, amazon)
    assert report.import_status == Status.FAILED
    assert report.failure_reason == Report.FailureReason.STORAGE
    assert "Could not store the document: S3 did not answer" in report.last_error


def test_an_import_whose_document_cannot_be_read_waits_for_the_store(s3, account, no_broker):
    report = stored_report(account, b"order-id\n", charset="utf-8")
    Report.objects.filter(pk=report.pk).update(import_status=Status.IMPORTING)
    s3.use(endpoint_url=f"http://127.0.0.1:{free_port()}")
    pipeline.advance_report(report.pk)
    report.refresh_from_db()
    assert report.import_status == Status.IMPORTING and report.attempts == 1
    assert report.last_error.startswith("Could not read the stored document: S3 did not answer")


def test_pages_say_the_store_is_down_and_an_upload_is_refused_whole(s3, account, logged_in_client):
    from amazon_settings.models import AccountMarketplace

    AccountMarketplace.objects.create(
        account=account,
        marketplace_id="A1PA6795UKMFR9",
        country_code="DE",
        name="Amazon.de",
        selected=True,
    )
    report = stored_report(account, b"order-id\n302-1\n", charset="utf-8")
    s3.use(endpoint_url=f"http://127.0.0.1:{free_port()}")

    download = logged_in_client.get(f"/reports/{report.pk}/download/")
    assert download.status_code == 503
    assert download.content.decode().startswith(
        "Could not read the stored document: S3 did not answer"
    )
    assert logged_in_client.get(f"/reports/{report.pk}/raw/").status_code == 503
    page = logged_in_client.get(f"/reports/{report.pk}/").content.decode()
    assert "The stored document cannot be shown: Could not read the stored document" in page

    reports_before = Report.objects.count()
    answer = logged_in_client.post(
        "/reports/upload/",
        {
            "account": account.pk,
            "report_type": "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
            "file": SimpleUploadedFile("orders.txt", b"order-id\tsku\n302-1\tA\n"),
        },
    )
    assert answer.status_code == 400
    assert "Could not store the document: S3 did not answer" in answer.content.decode()
    assert "Nothing was stored; upload the file again shortly." in answer.content.decode()
    assert Report.objects.count() == reports_before


WORKER = """
import json, sys
import django
django.setup()
from reports import documents
from reports.models import Report
report = Report(pk=int(sys.argv[1]))
documents.store_raw_document(report, sys.stdin.buffer.read(), charset="cp1252")
print(json.dumps({"name": report.raw_file.name, "size": report.raw_size}))
"""


def test_a_document_a_worker_process_stored_is_served_by_the_web_side_from_s3(
    s3, account, logged_in_client, tmp_path
):
    """Two machines: the worker (its own process and VAR_DIR, so its own MEDIA_ROOT) stores the
    document; the web side (this process, another MEDIA_ROOT) serves it. They share S3 only."""
    report = Report.objects.create(
        account=account,
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        import_status=Status.IMPORTED,
    )
    worker_var = tmp_path / "worker-var"
    worker_var.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DOCUMENTS_S3_", "TEST_", "AWS_"))
        and key not in {"DATABASE_URL", "REDIS_URL", "VAR_DIR", "SECRET_KEY"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEMO_MODE": "1",
            "VAR_DIR": str(worker_var),
            **s3.moto.documents_env(s3.bucket, s3.prefix),
        }
    )
    content = CP1252_LINES.encode("cp1252")
    worker = subprocess.run(
        [sys.executable, "-c", WORKER, str(report.pk)],
        cwd=django_settings.BASE_DIR,
        env=env,
        input=content,
        capture_output=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr.decode()
    stored = json.loads(worker.stdout.decode().strip().splitlines()[-1])
    assert not any(path.is_file() for path in (worker_var / "media").rglob("*"))

    # The web side learns the name from the database, as the worker would have written it.
    Report.objects.filter(pk=report.pk).update(
        raw_file=stored["name"], raw_charset="cp1252", raw_size=stored["size"]
    )
    download = logged_in_client.get(f"/reports/{report.pk}/download/")
    assert b"".join(download.streaming_content) == content
    raw = logged_in_client.get(f"/reports/{report.pk}/raw/")
    assert b"".join(raw.streaming_content).decode() == CP1252_LINES
    assert "José Müller" in logged_in_client.get(f"/reports/{report.pk}/").content.decode()
