"""The report catalogue: the eight report types the product offers, and the status report the
worker requests on its own, in one place.

Each entry binds a product name (PlentyONE's) to Amazon report types and a region, and knows how
Amazon treats it: whether it can be requested and whether Amazon lets it be scheduled, the
longest range one request may cover, the regeneration window inside which Amazon refuses the
same report again, whether its documents are restricted (restricted data token), and which
importer reads it. The facts are those of Amazon's "Report Type Values" pages (the order, FBA,
tax and invoice data ones; developer-docs.amazon.com/sp-api/docs/report-type-values and the
pages it links), each page's "Can be requested" / "Can be requested or scheduled" line for
`schedulable`.

Each entry also carries the cadence a seller gets by default for the automatic import (how often
the worker asks Amazon for it, or has Amazon make it on a schedule), with the reason shown beside
it in Settings; `reports.services.cadences` keeps each account's own choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ReportKind:
    key: str
    name: str  # lazily translated: shown to sellers
    # A few words for narrow places (Processing's rows), lazily translated; Amazon's code
    # (`report_type`) goes in a tooltip beside it.
    short_name: str
    description: str
    group: str  # "FBA", "MFN", "VCS" or "Status": how Reports » Request groups the dropdown
    regions: frozenset[str]
    report_type: str  # what we request from Amazon
    requestable: bool = True
    schedulable: bool = True
    # Amazon-side schedules may deliver a twin of the same data in another format (XML).
    twin_report_types: tuple[str, ...] = ()
    max_range: timedelta | None = None  # None: the report ignores the range (a snapshot)
    look_back: timedelta = timedelta(days=730)
    regeneration_window: timedelta | None = None
    restricted: bool = False
    # How often a healthy account sees a new report of this kind (for "Orders missing?").
    expected_interval: timedelta = timedelta(days=1)
    imports_orders: bool = False
    # Offered in Reports » Request (the eight types of PlentyONE's list). The status report is
    # requested by the worker alone; Processing, Upload and the dashboard still show it.
    offered: bool = True
    # Brings status changes of imported orders: the worker requests it for accounts with
    # order import on, one at a time, each range starting where the last one ended.
    tracks_statuses: bool = False
    # The automatic import: how often by default (None: never by itself), and why that often.
    default_cadence: timedelta | None = None
    cadence_reason: str = ""  # lazily translated
    # How far back the first automatic requests reach at the most; None: to the account's import
    # start date (`reports.coverage.import_start`).
    automatic_back: timedelta | None = None
    # Requested automatically only for marketplaces whose invoicing is in one of these modes
    # (`amazon_settings.models.InvoicingMode` values); empty: for every selected marketplace.
    invoicing_modes: frozenset[str] = frozenset()
    all_report_types: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "all_report_types", (self.report_type, *self.twin_report_types))

    @property
    def ignores_range(self) -> bool:
        return self.max_range is None

    @property
    def shortest_cadence(self) -> timedelta:
        """The shortest cadence that makes sense: Amazon makes nothing new inside the
        regeneration window, so asking more often only makes it refuse."""
        return self.regeneration_window or timedelta(0)

    def label(self) -> str:
        return str(self.name)


EU = frozenset({"eu"})
NA = frozenset({"na"})
BOTH = frozenset({"eu", "na"})

# Invoicing modes of a marketplace (amazon_settings.models.InvoicingMode), spelled here so that the
# catalogue stays a table of facts.
AMAZON_INVOICES = "amazon"
VCS_LITE = "vcs_lite"

MFN_REASON = _(
    "You ship these orders yourself, so they should arrive fast. Amazon makes this report on a "
    "schedule, each one covering the time since the one before (no overlap, no request to "
    "wait for); its shortest period is 5 minutes, but its orders lag Amazon by up to 30 "
    "minutes anyway, so every 15 minutes brings a new order as soon as it is useful."
)
FBA_ORDERS_REASON = _(
    "Amazon makes this report at most every 4 hours (it refuses a request inside that "
    "window), and a shipment takes 1 to 3 hours to appear in it: asking more often brings "
    "nothing."
)

CATALOG: tuple[ReportKind, ...] = (
    ReportKind(
        key="fba_stock",
        name=_("Amazon Fulfillment Network - Stock report"),
        short_name=_("Stock (FBA)"),
        description=_("Stock synchronization for FBA stock"),
        group="FBA",
        regions=BOTH,
        report_type="GET_AFN_INVENTORY_DATA",
        # Amazon's FBA inventory reports: "Can be requested." (no schedule).
        schedulable=False,
        max_range=None,
        # "Near real-time" FBA reports are regenerated at most every 30 minutes.
        regeneration_window=timedelta(minutes=30),
        expected_interval=timedelta(hours=6),
        default_cadence=timedelta(hours=1),
        cadence_reason=_(
            "Stock changes with every sale. Amazon refreshes this report at most every 30 "
            "minutes; hourly keeps the stock current with half the requests."
        ),
    ),
    ReportKind(
        key="fba_returns",
        name=_("Amazon Fulfillment Network - Returns"),
        short_name=_("Returns (FBA)"),
        description=_("Importing FBA returns"),
        group="FBA",
        regions=BOTH,
        report_type="GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
        # Amazon's FBA customer concessions reports: "Can be requested." (no schedule).
        schedulable=False,
        max_range=timedelta(days=31),
        regeneration_window=timedelta(hours=4),  # a "daily" FBA report
        default_cadence=timedelta(days=1),
        cadence_reason=_(
            "Amazon updates this report once a day; asking more often brings nothing new."
        ),
    ),
    ReportKind(
        key="fba_orders_eu",
        name=_("Amazon Fulfillment Network - Order report - EU"),
        short_name=_("FBA shipments"),
        description=_("Importing FBA orders for EU sellers"),
        group="FBA",
        regions=EU,
        report_type="GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
        # Amazon's FBA sales reports: "This report can only be requested."
        schedulable=False,
        # Seller Central: at most one month (31 days) per request.
        max_range=timedelta(days=31),
        look_back=timedelta(days=548),
        regeneration_window=timedelta(hours=4),
        imports_orders=True,
        default_cadence=timedelta(hours=4),
        cadence_reason=FBA_ORDERS_REASON,
    ),
    ReportKind(
        key="fba_orders_na",
        name=_("Amazon Fulfillment Network - Order report - NA"),
        short_name=_("FBA shipments"),
        description=_("Importing FBA orders for North American sellers"),
        group="FBA",
        regions=NA,
        report_type="GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
        schedulable=False,
        max_range=timedelta(days=31),
        look_back=timedelta(days=548),
        regeneration_window=timedelta(hours=4),
        imports_orders=True,
        default_cadence=timedelta(hours=4),
        cadence_reason=FBA_ORDERS_REASON,
    ),
    ReportKind(
        key="vcs_lite",
        name=_("VCS Lite - Data"),
        short_name=_("VCS Lite"),
        description=_("Correcting orders for VCS Lite; generating missing invoices"),
        group="VCS",
        regions=EU,
        report_type="GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT",
        # Amazon's invoice data reports: requested or scheduled, and "Amazon recommends
        # scheduling this report at least twice a day".
        schedulable=True,
        max_range=timedelta(days=30),
        restricted=True,
        expected_interval=timedelta(hours=12),
        default_cadence=timedelta(hours=12),
        cadence_reason=_(
            "Amazon recommends scheduling this report at least twice a day. Only for "
            "marketplaces in VCS Lite mode (Invoicing settings)."
        ),
        # Sales before the account was connected were invoiced elsewhere: issuing their
        # invoices here now would double them.
        automatic_back=timedelta(days=30),
        invoicing_modes=frozenset({VCS_LITE}),
    ),
    ReportKind(
        key="vcs_invoices",
        name=_("VCS - Invoices generated by Amazon"),
        short_name=_("VCS invoices"),
        description=_("Importing external invoices and credit notes"),
        group="VCS",
        regions=EU,
        report_type="SC_VAT_TAX_REPORT",
        # Amazon's tax reports: "Can be requested." (no schedule).
        schedulable=False,
        max_range=timedelta(days=31),
        default_cadence=timedelta(days=1),
        cadence_reason=_(
            "Amazon adds a shipment to this report about three days after it ships; once a "
            "day is enough. Only for marketplaces whose invoices Amazon issues (VCS) or in VCS "
            "Lite mode, where it tells which sales Amazon invoiced."
        ),
        automatic_back=timedelta(days=31),
        invoicing_modes=frozenset({AMAZON_INVOICES, VCS_LITE}),
    ),
    ReportKind(
        key="mfn_orders_eu",
        name=_("Merchant Fulfilled Network - Order report - EU"),
        short_name=_("Orders (MFN)"),
        description=_("Importing MFN orders for EU sellers"),
        group="MFN",
        regions=EU,
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        twin_report_types=("GET_ORDER_REPORT_DATA_INVOICING",),
        # Amazon's order reports: the flat file "can be requested or scheduled" (its XML twin
        # only scheduled).
        schedulable=True,
        # Amazon's flat order reports cover the previous 60 days.
        max_range=timedelta(days=30),
        look_back=timedelta(days=60),
        restricted=True,
        expected_interval=timedelta(hours=1),
        imports_orders=True,
        default_cadence=timedelta(minutes=15),
        cadence_reason=MFN_REASON,
    ),
    ReportKind(
        key="mfn_orders_na",
        name=_("Merchant Fulfilled Network - Order report - NA"),
        short_name=_("Orders (MFN)"),
        description=_("Importing MFN orders for North American sellers"),
        group="MFN",
        regions=NA,
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
        twin_report_types=("GET_ORDER_REPORT_DATA_SHIPPING",),
        schedulable=True,
        max_range=timedelta(days=30),
        look_back=timedelta(days=60),
        restricted=True,
        expected_interval=timedelta(hours=1),
        imports_orders=True,
        default_cadence=timedelta(minutes=15),
        cadence_reason=MFN_REASON,
    ),
    # Why this type for status changes: Amazon documents it as listing every order updated in
    # the requested range (MFN and FBA, any status, with its last-updated date), so ranges
    # chained one after the other bring each cancellation or status change once, however old
    # the order. Its twin by order date lists orders by purchase date and would have to ask for
    # old ranges again; the XML twins carry order item ids, which a status update does not
    # need. It is not restricted (no buyer data), exists in both regions, may be requested (not
    # scheduled: "scheduling is not supported", Amazon's order tracking reports), and Amazon
    # exempts the all-orders reports from the FBA regeneration windows.
    ReportKind(
        key="order_status",
        name=_("All orders by last update (status changes)"),
        short_name=_("Order statuses"),
        description=_(
            "Cancellations and status changes of imported orders; requested by the worker"
        ),
        group="Status",
        regions=BOTH,
        report_type="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
        schedulable=False,
        # No documented limit; a request covers at most 30 days (our choice).
        max_range=timedelta(days=30),
        expected_interval=timedelta(hours=1),
        offered=False,
        tracks_statuses=True,
        default_cadence=timedelta(minutes=15),
        cadence_reason=_(
            "A buyer's cancellation must reach you before you ship the order. Each report "
            "starts where the last one ended, and the next is requested only once the last is "
            "imported; Amazon exempts it from the FBA regeneration windows."
        ),
    ),
)

BY_KEY: dict[str, ReportKind] = {kind.key: kind for kind in CATALOG}
BY_REPORT_TYPE: dict[str, ReportKind] = {
    report_type: kind for kind in CATALOG for report_type in kind.all_report_types
}
# How Reports » Request and Upload group the types; "Status" holds the status report (Upload).
GROUPS = ("MFN", "FBA", "VCS", "Status")


def kind_for_report_type(report_type: str) -> ReportKind | None:
    return BY_REPORT_TYPE.get(report_type)


def short_name_for(report_type: str) -> str:
    """The short name of a report type, or the type itself when the catalogue lacks it."""
    kind = BY_REPORT_TYPE.get(report_type)
    return str(kind.short_name) if kind else report_type


def kinds_for_region(region: str) -> list[ReportKind]:
    return [kind for kind in CATALOG if region in kind.regions]


def automatic_kinds(region: str) -> list[ReportKind]:
    """The kinds of a region the worker imports by itself, each on its cadence."""
    return [k for k in kinds_for_region(region) if k.default_cadence is not None]


def order_kinds_look_back(region: str) -> timedelta:
    """How far back Amazon keeps the order reports of a region, at the most (the FBA shipments
    report reaches 18 months back, the MFN order report 60 days)."""
    return max(
        (k.look_back for k in kinds_for_region(region) if k.imports_orders and k.requestable),
        default=timedelta(0),
    )
