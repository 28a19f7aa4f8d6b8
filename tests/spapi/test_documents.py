"""Report documents: the download (no token, capped, gunzipped) and decoding to text."""

from __future__ import annotations

import gzip
import io
import zlib

import pytest
import requests
from responses import matchers

from amazon_settings.spapi import (
    CharsetFacts,
    DocumentCorrupt,
    DocumentTooLarge,
    DocumentUndecodable,
    DocumentUrlExpired,
    ReportDocument,
    SpApiTransientError,
    charset_facts,
    choose_charset,
    decode_document,
    gunzip,
    normalise_charset,
)

from .support import TOKEN_1, USER_AGENT

DOC_URL = "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/amzn1.tortuga.4.eu.T1"
QUERY = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature=c2lnbmF0dXJl"
PRESIGNED = f"{DOC_URL}?{QUERY}"
TEXT = "amazon-order-id\tbuyer-name\tship-city\n302-1234567-1234567\tJürgen Müller\tKöln\n"


def document(compression: str | None = "GZIP") -> ReportDocument:
    return ReportDocument(
        report_document_id="amzn1.tortuga.4.eu.T1", url=PRESIGNED, compression_algorithm=compression
    )


def register(mocked, **kwargs):
    mocked.get(DOC_URL, match=[matchers.query_string_matcher(QUERY)], **kwargs)


def test_gzip_document_is_downloaded_without_the_token_and_gunzipped(
    client, mocked, session, records
):
    raw = gzip.compress(TEXT.encode("cp1252"))
    register(mocked, body=raw, headers={"Content-Type": "text/plain; charset=Cp1252"})

    downloaded = client.download_document(document())

    assert downloaded.raw == raw
    assert downloaded.content == TEXT.encode("cp1252")
    assert (downloaded.charset, downloaded.content_type) == ("Cp1252", "text/plain")
    assert decode_document(downloaded.content, downloaded.charset) == TEXT
    headers = mocked.calls[0].request.headers
    assert "x-amz-access-token" not in headers
    assert "Authorization" not in headers
    assert headers["user-agent"] == USER_AGENT
    assert session.requests[0]["timeout"] == 12.5
    assert session.requests[0]["url"] == PRESIGNED
    [record] = records
    assert (record.operation, record.path, record.status) == (
        "Reports.downloadDocument",
        "/amzn1.tortuga.4.eu.T1",
        200,
    )
    assert "Signature" not in repr(record) and TOKEN_1 not in repr(record)
    assert "Jürgen" not in repr(downloaded)


def test_plain_document_is_kept_as_downloaded(client, mocked):
    register(mocked, body=TEXT.encode(), headers={"Content-Type": "text/plain;charset=utf8"})

    downloaded = client.download_document(document(compression=None))

    assert downloaded.raw == downloaded.content == TEXT.encode()
    assert normalise_charset(downloaded.charset) == "utf-8"


def test_http_content_encoding_gzip_is_undone_once(client, mocked):
    raw = gzip.compress(TEXT.encode())
    register(
        mocked,
        body=raw,
        headers={"Content-Type": "text/plain; charset=UTF-8", "Content-Encoding": "gzip"},
    )

    downloaded = client.download_document(document())

    assert downloaded.raw == raw
    assert downloaded.content == TEXT.encode()


def test_truncated_gzip_is_corrupt(client, mocked):
    raw = gzip.compress(TEXT.encode() * 50)
    register(mocked, body=raw[: len(raw) // 2])

    with pytest.raises(DocumentCorrupt) as caught:
        client.download_document(document())

    assert caught.value.code == "TruncatedGzip"


def test_garbage_labelled_gzip_is_corrupt(client, mocked):
    register(mocked, body=b"this is not gzip at all")

    with pytest.raises(DocumentCorrupt) as caught:
        client.download_document(document())

    assert caught.value.code == "CorruptGzip"
    assert str(caught.value).startswith("The report document is damaged")


def test_expired_url_is_reported_for_a_fresh_get_report_document(client, mocked, sleeps):
    register(
        mocked,
        status=403,
        body=b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        content_type="application/xml",
    )

    with pytest.raises(DocumentUrlExpired) as caught:
        client.download_document(document())

    assert isinstance(caught.value, SpApiTransientError)  # "reschedule" is right, too
    assert len(mocked.calls) == 1  # the same URL will not work again: no retry
    assert sleeps == []
    assert "Signature" not in str(caught.value)


def test_document_host_outages_are_retried(client, mocked):
    register(mocked, status=503, body=b"<Error><Code>SlowDown</Code></Error>")
    register(mocked, body=TEXT.encode())

    assert client.download_document(document(None)).content == TEXT.encode()
    assert len(mocked.calls) == 2


def test_connection_errors_never_leak_the_presigned_url(make_client, mocked):
    client = make_client(max_retries=0)
    register(mocked, body=requests.ConnectionError(f"failed to reach {PRESIGNED}"))

    with pytest.raises(SpApiTransientError) as caught:
        client.download_document(document())

    assert "Signature" not in str(caught.value)


def test_documents_above_the_cap_are_refused(make_client, mocked):
    client = make_client(max_document_bytes=100)
    register(mocked, body=b"x" * 101)

    with pytest.raises(DocumentTooLarge):
        client.download_document(document(None))


def test_decompression_bombs_are_refused(make_client, mocked):
    client = make_client(max_document_bytes=10_000)
    register(mocked, body=gzip.compress(b"\0" * 1_000_000))

    with pytest.raises(DocumentTooLarge):
        client.download_document(document())


def test_gunzip_reads_every_member_and_zlib_streams():
    data = gzip.compress(b"first\n") + gzip.compress(b"second\n")

    assert gunzip(data, max_bytes=100) == b"first\nsecond\n"
    assert gunzip(zlib.compress(b"zlib"), max_bytes=100) == b"zlib"
    with pytest.raises(DocumentCorrupt):
        gunzip(b"", max_bytes=100)


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("Cp1252", "cp1252"),
        ("windows-1252", "cp1252"),
        ("windows-31j", "cp932"),
        ("Windows-31J", "cp932"),
        ("utf8", "utf-8"),
        ("UTF-8", "utf-8"),
        ('"utf-8"', "utf-8"),
        ("ISO-8859-1", "iso8859-1"),
        ("x-made-up", None),
        ("base64", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_charset(label, name):
    assert normalise_charset(label) == name


def test_cp1252_with_umlauts_decodes_with_its_label():
    assert decode_document("Müller Straße 5, Köln, 12 €".encode("cp1252"), "Cp1252") == (
        "Müller Straße 5, Köln, 12 €"
    )


def test_utf8_decodes_with_or_without_label():
    content = "Zoë Ångström".encode()

    assert decode_document(content, "utf8") == "Zoë Ångström"
    assert decode_document(content, None) == "Zoë Ångström"


def test_a_utf8_bom_is_stripped_and_wins_over_the_label():
    content = b"\xef\xbb\xbf" + "order-id\tGrüße".encode()

    assert decode_document(content, None) == "order-id\tGrüße"
    assert decode_document(content, "Cp1252") == "order-id\tGrüße"


def test_mislabelled_cp1252_falls_back_without_replacing_characters():
    content = "Jürgen".encode("cp1252")

    assert decode_document(content, "UTF-8") == "Jürgen"
    assert decode_document(content, None) == "Jürgen"


def test_japanese_documents_decode_as_cp932():
    assert decode_document("東京都".encode("cp932"), "windows-31j") == "東京都"


def test_undecodable_bytes_raise_with_the_offset():
    # 0x81 is neither valid UTF-8 here nor defined in cp1252.
    content = b"\xef\xbb\xbfok\x81rest"

    with pytest.raises(DocumentUndecodable) as caught:
        decode_document(content, None)

    assert caught.value.offset == 5  # counted in the downloaded bytes, BOM included
    assert caught.value.charset == "utf-8"
    assert str(caught.value).startswith(
        "The report document is not valid text: byte 5 cannot be decoded as utf-8"
    )
    assert "0x81" in str(caught.value)


def test_bytes_cp1252_leaves_undefined_decode_as_browsers_decode_them():
    # ISO-8859-1 bytes under Amazon's Cp1252 label: 0x81 and 0x9d are undefined in cp1252.
    content = "Müller GmbH".encode("latin-1") + b" \x81\x8d\x8f\x90\x9d"

    assert decode_document(content, "Cp1252") == "Müller GmbH \x81\x8d\x8f\x90\x9d"
    choice = choose_charset(charset_facts(content, "Cp1252"))
    assert choice.charset == "windows-1252-whatwg"
    assert "with 5 bytes that cp1252 leaves undefined read as ISO-8859-1" in choice.reason


def test_utf8_under_a_cp1252_label_is_read_as_utf8_not_mojibake():
    content = "Müller Straße, Köln".encode()

    assert decode_document(content, "Cp1252") == "Müller Straße, Köln"
    reason = choose_charset(charset_facts(content, "Cp1252")).reason
    assert reason.startswith("Amazon labelled it Cp1252, but its bytes are valid UTF-8")


def test_plain_ascii_under_any_western_label_is_utf8():
    for label in ("Cp1252", "ISO-8859-1", "UTF-8", None):
        choice = choose_charset(charset_facts(b"order-id\tsku\n", label))
        assert choice.charset == "utf-8"
        assert "plain ASCII" in choice.reason


def test_a_document_that_breaks_its_own_label_is_refused_saying_what_to_do():
    content = "東京都".encode("cp932") + b"\x81 "  # a lead byte without its trail byte

    with pytest.raises(DocumentUndecodable) as caught:
        decode_document(content, "windows-31j")

    assert caught.value.offset == len("東京都".encode("cp932"))
    assert "cannot be read as cp932 (it is labelled windows-31j, and it is not UTF-8)" in str(
        caught.value
    )
    assert "save it as UTF-8 text and upload that file" in str(caught.value)


@pytest.mark.parametrize(
    "content",
    [
        "Zoë Ångström, 12 €".encode(),
        "Zoë Ångström, 12 €".encode("cp1252") + b"\x81",
        b"\xef\xbb\xbf" + "Grüße".encode(),
        b"plain",
    ],
)
def test_facts_fed_in_chunks_choose_as_the_whole_does(content):
    whole = choose_charset(charset_facts(content, "Cp1252"))
    for cut in range(len(content) + 1):
        facts = CharsetFacts("Cp1252")
        facts.feed(content[:cut])
        facts.feed(content[cut:])
        assert choose_charset(facts.finish()) == whole, cut


def test_the_windows_1252_reading_streams_like_it_decodes():
    content = bytes(range(256))
    text = io.TextIOWrapper(io.BytesIO(content), encoding="windows-1252-whatwg", newline="")

    assert text.read() == content.decode("windows-1252-whatwg")
    assert content.decode("windows-1252-whatwg").encode("windows-1252-whatwg") == content
    assert content[0x80:0xA0].decode("windows-1252-whatwg")[1] == "\x81"
    assert content[0x80:0xA0].decode("windows-1252-whatwg")[0] == "€"
