"""What the Amazon sandbox knows about Amazon: marketplaces, demo sellers and report types.

Plain Python on purpose (no Django imports): the sandbox's HTTP views, the history generator
and tests all read these constants, and nothing here touches the database.

Sources: Amazon's public "Marketplace IDs" page and its "Report Type Values" pages (order, FBA,
tax and invoice data reports) for marketplace ids and report-type rules; the file formats are
those of real report files and public parsers, listed in tests/data/PROVENANCE.md.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Marketplace:
    """One Amazon marketplace, with the values Amazon's APIs and report files carry for it."""

    id: str
    # ISO 3166 code, as marketplaceParticipations answers it: "GB" for the UK, although
    # Amazon's developer docs label the UK marketplace "UK".
    country_code: str
    name: str
    domain: str
    # The value report files carry in their sales-channel column.
    sales_channel: str
    currency: str
    language: str
    region: str


def _mp(
    id: str,
    country_code: str,
    name: str,
    currency: str,
    language: str,
    region: str,
) -> Marketplace:
    return Marketplace(
        id=id,
        country_code=country_code,
        name=name,
        domain=f"www.{name.lower()}",
        sales_channel=name,
        currency=currency,
        language=language,
        region=region,
    )


# Keyed by marketplace id, because that is what every SP-API request and answer carries.
MARKETPLACES: dict[str, Marketplace] = {
    m.id: m
    for m in (
        _mp("A1PA6795UKMFR9", "DE", "Amazon.de", "EUR", "de_DE", "eu"),
        _mp("A13V1IB3VIYZZH", "FR", "Amazon.fr", "EUR", "fr_FR", "eu"),
        _mp("APJ6JRA9NG5V4", "IT", "Amazon.it", "EUR", "it_IT", "eu"),
        _mp("A1RKKUPIHCS9HS", "ES", "Amazon.es", "EUR", "es_ES", "eu"),
        _mp("A1F83G8C2ARO7P", "GB", "Amazon.co.uk", "GBP", "en_GB", "eu"),
        _mp("A1805IZSGTT6HS", "NL", "Amazon.nl", "EUR", "nl_NL", "eu"),
        _mp("A2NODRKZP88ZB9", "SE", "Amazon.se", "SEK", "sv_SE", "eu"),
        _mp("A1C3SOZRARQ6R3", "PL", "Amazon.pl", "PLN", "pl_PL", "eu"),
        _mp("AMEN7PMS3EDWL", "BE", "Amazon.com.be", "EUR", "fr_BE", "eu"),
        _mp("ATVPDKIKX0DER", "US", "Amazon.com", "USD", "en_US", "na"),
        _mp("A2EUQ1WTGCTBG2", "CA", "Amazon.ca", "CAD", "en_CA", "na"),
        _mp("A1AM78C64UM0Y8", "MX", "Amazon.com.mx", "MXN", "es_MX", "na"),
    )
}


def marketplace_by_country(country_code: str) -> Marketplace:
    """The marketplace for an ISO country code ("UK" is accepted for "GB"). Raises KeyError."""
    code = "GB" if country_code.upper() == "UK" else country_code.upper()
    for marketplace in MARKETPLACES.values():
        if marketplace.country_code == code:
            return marketplace
    raise KeyError(country_code)


@dataclass(frozen=True)
class DemoSeller:
    """A seller account the sandbox pretends exists; its whole order history follows from `seed`."""

    selling_partner_id: str
    region: str
    store_name: str
    marketplace_ids: tuple[str, ...]
    seed: int
    # Average number of orders per day across all of the seller's marketplaces.
    orders_per_day: float
    # Which of the seller's possible histories the sandbox serves: 0 is the one the demo shows;
    # tests run under several so that no assertion can hold only for one calendar's orders.
    history: int = 0
    # Who issues the seller's VAT invoices (EU): "vcs", Amazon for every sale; "vcs_lite", the
    # seller, except for Amazon Business orders, which Amazon invoices.
    vat_invoicing: str = "vcs_lite"


_DE = "A1PA6795UKMFR9"
_FR = "A13V1IB3VIYZZH"
_IT = "APJ6JRA9NG5V4"
_ES = "A1RKKUPIHCS9HS"
_UK = "A1F83G8C2ARO7P"
_US = "ATVPDKIKX0DER"
_CA = "A2EUQ1WTGCTBG2"

DEMO_SELLERS: tuple[DemoSeller, ...] = (
    DemoSeller(
        selling_partner_id="A2MUELLERHW7QX",
        region="eu",
        store_name="Müller Haushaltswaren",
        marketplace_ids=(_DE, _FR, _IT, _ES, _UK),
        seed=4711,
        orders_per_day=6.0,
    ),
    DemoSeller(
        selling_partner_id="A3CEDARRIDGE9K",
        region="na",
        store_name="Cedar Ridge Outfitters",
        marketplace_ids=(_US, _CA),
        seed=1776,
        orders_per_day=5.0,
    ),
    DemoSeller(
        selling_partner_id="A1KERZENWERK5D",
        region="eu",
        store_name="Kerzenwerkstatt Schäfer",
        marketplace_ids=(_DE,),
        seed=815,
        orders_per_day=1.5,
        vat_invoicing="vcs",
    ),
)


# The fleet: synthetic sellers for the fleet benchmark (`make bench-fleet`), AFLEET0000001 up to
# the number SANDBOX_FLEET_SELLERS names (0, none, unless set: the demo and the tests see the
# three demo sellers only). Each is an EU seller on Amazon.de whose deterministic history (seed
# from its number) places SANDBOX_FLEET_ORDERS_PER_DAY orders a day, around the clock, as the
# demo sellers' histories do; its refresh token comes from the control API like theirs.
FLEET_PREFIX = "AFLEET"
_FLEET_ID = re.compile(rf"^{FLEET_PREFIX}(\d{{7}})$")
DEFAULT_FLEET_ORDERS_PER_DAY = 48.0


def fleet_size() -> int:
    """How many fleet sellers this sandbox serves (SANDBOX_FLEET_SELLERS; 0 when unset)."""
    value = os.environ.get("SANDBOX_FLEET_SELLERS", "").strip()
    return max(0, int(value)) if value else 0


def fleet_orders_per_day() -> float:
    value = os.environ.get("SANDBOX_FLEET_ORDERS_PER_DAY", "").strip()
    return float(value) if value else DEFAULT_FLEET_ORDERS_PER_DAY


def fleet_seller_id(number: int) -> str:
    """The selling partner id of fleet seller `number` (1-based): AFLEET0000001."""
    return f"{FLEET_PREFIX}{number:07d}"


@cache
def fleet_seller(number: int, orders_per_day: float) -> DemoSeller:
    """Fleet seller `number`: one object per number and rate, so that the generator's caches
    keyed by seller hold one entry each."""
    return DemoSeller(
        selling_partner_id=fleet_seller_id(number),
        region="eu",
        store_name=f"Fleet Shop {number}",
        marketplace_ids=(_DE,),
        seed=1_000_000 + number,
        orders_per_day=orders_per_day,
    )


def fleet_sellers() -> tuple[DemoSeller, ...]:
    """Every fleet seller this sandbox serves, in number order."""
    rate = fleet_orders_per_day()
    return tuple(fleet_seller(n, rate) for n in range(1, fleet_size() + 1))


def seller_by_id(selling_partner_id: str, region: str) -> DemoSeller | None:
    """The demo (or fleet) seller with this id in this region ("eu" | "na"), or None.

    A seller id of the other region answers None, as Amazon answers 403 on the wrong endpoint.
    """
    for seller in DEMO_SELLERS:
        if seller.selling_partner_id == selling_partner_id and seller.region == region:
            return seller
    fleet = _FLEET_ID.match(selling_partner_id)
    if fleet and region == "eu" and 1 <= int(fleet.group(1)) <= fleet_size():
        return fleet_seller(int(fleet.group(1)), fleet_orders_per_day())
    return None


@dataclass(frozen=True)
class ReportTypeSpec:
    """How Amazon treats one report type: where it exists, how it may be asked for, its file."""

    report_type: str
    regions: frozenset[str]
    file_format: str  # "tsv" | "csv" | "xml"
    requestable: bool  # createReport allowed
    schedulable: bool  # createReportSchedule allowed
    restricted: bool  # the document needs a Restricted Data Token (buyer PII)
    # Longest dataStartTime..dataEndTime one request may cover; None: no limit.
    max_range_days: int | None
    # FBA reports: the same report asked again inside this window is refused (FATAL).
    regeneration_window_seconds: int | None
    ignores_date_range: bool
    # The charset label Amazon puts on the download, per region. Python's codec lookup accepts
    # both spellings ("Cp1252" -> cp1252).
    eu_charset: str
    na_charset: str


_EU = frozenset({"eu"})
_NA = frozenset({"na"})
_BOTH = frozenset({"eu", "na"})

# FBA "near real-time" reports regenerate at most every 30 min, "daily" ones every 4 h (Amazon's
# FBA report type pages, e.g. developer-docs.amazon.com/sp-api/docs/fba-sales-reports-attributes).
_NEAR_REAL_TIME = 30 * 60
_DAILY = 4 * 60 * 60


def _spec(
    report_type: str,
    regions: frozenset[str],
    file_format: str = "tsv",
    *,
    requestable: bool = True,
    schedulable: bool = False,
    restricted: bool = False,
    max_range_days: int | None = None,
    regeneration_window_seconds: int | None = None,
    ignores_date_range: bool = False,
    eu_charset: str = "Cp1252",
    na_charset: str = "UTF-8",
) -> ReportTypeSpec:
    return ReportTypeSpec(
        report_type=report_type,
        regions=regions,
        file_format=file_format,
        requestable=requestable,
        schedulable=schedulable,
        restricted=restricted,
        max_range_days=max_range_days,
        regeneration_window_seconds=regeneration_window_seconds,
        ignores_date_range=ignores_date_range,
        eu_charset=eu_charset,
        na_charset=na_charset,
    )


# EU flat files are labelled Cp1252 (amzn/selling-partner-api-models issues #2748 and #4955), NA
# ones UTF-8. The VCS CSV and the XML documents are UTF-8 everywhere: the one real VCS file we
# know of (a German header and row of 2021, quoted in a public Odoo module) is UTF-8, and the
# XML declares its own encoding.
REPORT_TYPES: dict[str, ReportTypeSpec] = {
    s.report_type: s
    for s in (
        # Stock snapshot, "near real-time" FBA report.
        _spec(
            "GET_AFN_INVENTORY_DATA",
            _BOTH,
            regeneration_window_seconds=_NEAR_REAL_TIME,
            ignores_date_range=True,
        ),
        # "Daily" FBA report. No documented range limit; Seller Central offers up to 18 months,
        # so the sandbox does not limit it either.
        _spec(
            "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
            _BOTH,
            regeneration_window_seconds=_DAILY,
        ),
        # FBA shipments: at most one month per request (31 days in Seller Central's help on the
        # Amazon Fulfilled Shipments report), a daily type, requested only.
        _spec(
            "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
            _EU,
            max_range_days=31,
            regeneration_window_seconds=_DAILY,
        ),
        _spec(
            "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
            _BOTH,
            max_range_days=31,
            regeneration_window_seconds=_DAILY,
        ),
        # VIDR: request or schedule; with reportOptions all=true the range is at most 30 days
        # (Amazon's "Invoice data reports" type values). Restricted (Tax Invoicing role).
        _spec(
            "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT",
            _EU,
            schedulable=True,
            restricted=True,
            max_range_days=30,
        ),
        # VCS report, requested only. No documented range limit; Seller Central offers it per
        # month, so one request may cover one month (our choice, UNVERIFIED).
        _spec(
            "SC_VAT_TAX_REPORT",
            _EU,
            "csv",
            max_range_days=31,
            eu_charset="UTF-8",
        ),
        # MFN flat order reports: request or schedule; they cover "orders from the previous 60
        # days" (Amazon's order report type values), so a longer range is refused. Restricted
        # (buyer PII).
        _spec(
            "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
            _EU,
            schedulable=True,
            restricted=True,
            max_range_days=60,
        ),
        _spec(
            "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
            _NA,
            schedulable=True,
            restricted=True,
            max_range_days=60,
        ),
        # The XML twins exist only as Amazon-side schedules (Amazon's order report type values:
        # "scheduled only").
        _spec(
            "GET_ORDER_REPORT_DATA_INVOICING",
            _EU,
            "xml",
            requestable=False,
            schedulable=True,
            restricted=True,
            max_range_days=60,
            eu_charset="UTF-8",
        ),
        _spec(
            "GET_ORDER_REPORT_DATA_SHIPPING",
            _NA,
            "xml",
            requestable=False,
            schedulable=True,
            restricted=True,
            max_range_days=60,
        ),
        # All orders updated in the range, MFN and FBA, any status, no buyer data (Amazon's
        # order tracking reports): what tells a dashboard that an imported order was cancelled
        # or shipped since. Requested only (Amazon's order report type values); no documented
        # range limit, so one request may cover 30 days (our choice, UNVERIFIED). Amazon exempts
        # the all-orders reports from the FBA regeneration windows.
        _spec("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL", _BOTH, max_range_days=30),
        # Monthly VAT transactions; the server FATALs requests before the 3rd of a month
        # (SP-API changelog: "GET_VAT_TRANSACTION_DATA now includes a date limitation for report
        # generation"). One month per request is our choice (UNVERIFIED).
        _spec("GET_VAT_TRANSACTION_DATA", _EU, max_range_days=31),
    )
}
