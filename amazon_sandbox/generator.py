"""The sandbox's deterministic seller history and the report documents rendered from it.

Everything here is a pure function of (seller, arguments): no database, no clock, no Django.
Long on purpose: the history and the renderers of the eight report types share the order
types, the money and date formats and the column lists, and each renderer is a page of code;
tests/sandbox/test_generator.py checks them against each other.

How the history works
---------------------
* A seller has orders on every day from ``HISTORY_DAYS`` days before ``now`` up to ``now``.
  Each calendar day (UTC) is generated on its own from ``random.Random(f"{seed}:{day}")``
  (``seed`` also names the seller's ``history``, when it is not 0), so a
  day always yields the same orders whichever range is asked, and a one-month report only
  generates about two months of days (the month plus a look-back for late shipments and
  returns). Generated days are cached per process.
* A generated order carries its whole future: payment, shipments, cancellation, returns.
  ``now`` only hides what has not happened yet (an order placed after ``now`` does not exist; a
  shipment whose reporting date is after ``now`` is not known; a return after ``now`` has not
  happened), so asking again later only ever adds facts.
* MFN orders are cancelled in two ways: while pending (before payment clears, so they never
  reach the MFN order reports), and some paid ones by the buyer before the seller ships them.
  The latter are in the MFN order reports as Unshipped until they are cancelled; only a report
  listing orders by last update (``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL``) tells
  a dashboard that imported them about the cancellation.
* Orders added through the sandbox's control API (``AddedOrders``) are generated the same way
  from their ``batch_seed`` and merged in. They are never returned, and they ship within
  minutes, so a demo sees them in the FBA reports soon after placing them; with
  ``cancel_after_seconds`` they are not shipped but cancelled that long after their payment.

How the reports select rows
---------------------------
Every document covers the half-open range ``[data_start, data_end)``, clipped at ``now``, and
only orders of ``marketplace_ids`` (the stock snapshot ignores both; the all-orders report
ignores the marketplaces, as Amazon's reportedly does). Each type selects by its own date: MFN
order reports by purchase date, FBA shipments by shipment date, returns by return date, the VAT
reports by shipment date (sales) and return date (refunds), the all-orders report by the
order's last update. A row is rendered from
the order alone, so the same order gives the same row text in every overlapping document.

File conventions (samples and their sources: tests/data/PROVENANCE.md)
----------------------------------------------------------------------
* Header lines are the exact column lists of the real samples (or of the documented variant).
* Line endings are CRLF: the real DE 2012, US 2020 and IN 2025 files all end their lines with
  CRLF (only files re-typed from source code show LF). The XML documents use LF.
* Dates are ISO 8601 with an offset: ``+00:00`` in EU files, US Pacific time (``-08:00`` /
  ``-07:00``) in NA files, as the real US samples show. The VCS CSV uses ``27-Nov-2021 UTC``.
* Text values only use characters that exist in Cp1252, because EU flat files are labelled
  Cp1252 (see ``catalog.REPORT_TYPES``).
"""

from __future__ import annotations

import math
import random
import uuid
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

from amazon_sandbox.catalog import MARKETPLACES, REPORT_TYPES, DemoSeller, Marketplace

HISTORY_DAYS = 730

# Days before the range start whose orders can still ship or be returned inside the range:
# a second FBA shipment comes at most ~5 days after purchase, a return at most 30 days after it.
_LOOKBACK_DAYS = 40

_CRLF = "\r\n"
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AddedOrders:
    """Orders "placed now" through the sandbox's control API; the server stores these.

    ``placed_at`` is an aware datetime; ``marketplace_id`` None spreads the orders over the
    seller's marketplaces; ``batch_seed`` makes two batches of the same moment differ. With
    ``cancel_after_seconds`` (MFN only), each order is cancelled that long after its payment
    instead of being shipped.
    """

    placed_at: datetime
    count: int
    fulfillment: str  # "MFN" | "AFN"
    marketplace_id: str | None
    batch_seed: int
    cancel_after_seconds: int | None = None


@dataclass(frozen=True)
class OrderItem:
    """One order line. Amounts are totals for the line, as report files carry them.

    EU: ``item_price``, ``shipping_price`` and ``gift_wrap_price`` include VAT, the taxes are
    the VAT inside them. NA: prices are before sales tax and the tax comes on top (``vat_rate``
    is then the sales-tax rate). Promotion discounts are negative, as Amazon writes them, and
    include VAT like the prices they discount (EU).
    """

    order_item_id: str
    sku: str
    asin: str
    fnsku: str
    product_name: str
    quantity: int
    item_price: Decimal
    item_tax: Decimal
    shipping_price: Decimal
    shipping_tax: Decimal
    vat_rate: Decimal
    gift_wrap_price: Decimal = _ZERO
    gift_wrap_tax: Decimal = _ZERO
    item_promotion_discount: Decimal = _ZERO
    item_promotion_tax: Decimal = _ZERO
    item_promotion_id: str = ""
    ship_promotion_discount: Decimal = _ZERO
    ship_promotion_tax: Decimal = _ZERO
    ship_promotion_id: str = ""


@dataclass(frozen=True)
class ShipmentItem:
    """The part of an order line that left in one shipment."""

    shipment_item_id: str
    order_item_id: str
    quantity: int


@dataclass(frozen=True)
class Shipment:
    """One parcel. FBA shipments have a fulfillment centre; MFN ones (seller-confirmed) do not.

    ``invoice_number``/``invoice_url`` are the VCS invoice Amazon issues for this shipment.
    """

    shipment_id: str
    shipment_date: datetime
    reporting_date: datetime
    estimated_arrival_date: datetime
    carrier: str
    tracking_number: str
    fulfillment_center_id: str
    items: tuple[ShipmentItem, ...]
    invoice_number: str
    invoice_url: str


@dataclass(frozen=True)
class Return:
    """A customer return of (part of) one FBA order line, received at a fulfillment centre."""

    return_id: str
    return_date: datetime
    shipment_id: str
    order_item_id: str
    sku: str
    asin: str
    fnsku: str
    product_name: str
    quantity: int
    fulfillment_center_id: str
    detailed_disposition: str
    reason: str
    status: str
    license_plate_number: str
    customer_comments: str
    credit_note_number: str


@dataclass(frozen=True)
class Order:
    """One order as known at some ``now`` (see ``orders_between``)."""

    amazon_order_id: str
    marketplace_id: str
    sales_channel: str
    fulfillment: str  # "MFN" | "AFN"
    purchase_date: datetime
    payments_date: datetime
    last_updated: datetime
    status: str  # Pending | Unshipped | PartiallyShipped | Shipped | Canceled
    is_business_order: bool
    currency: str
    buyer_name: str
    buyer_email: str
    buyer_phone: str
    buyer_company_name: str
    buyer_vat_number: str
    purchase_order_number: str
    recipient_name: str
    address_1: str
    address_2: str
    address_3: str
    city: str
    state: str
    postal_code: str
    country_code: str
    ship_phone: str
    ship_service_level: str
    items: tuple[OrderItem, ...]
    shipments: tuple[Shipment, ...]
    cancelled: bool
    cancelled_at: datetime | None
    returns: tuple[Return, ...]
    # Cancelled by the buyer after payment cleared: Unshipped (and in the MFN order reports)
    # until ``cancelled_at``. Otherwise a cancelled order is cancelled while still pending.
    cancelled_after_payment: bool = False
    # Where the invoice goes: the ship-to address for most buyers (see _add_extras).
    billing_name: str = ""
    bill_address_1: str = ""
    bill_city: str = ""
    bill_state: str = ""
    bill_postal_code: str = ""
    bill_country_code: str = ""

    def item(self, order_item_id: str) -> OrderItem:
        """The line with this id. Raises KeyError."""
        for item in self.items:
            if item.order_item_id == order_item_id:
                return item
        raise KeyError(order_item_id)


@dataclass(frozen=True)
class RenderedReport:
    """A report document as text; the server encodes it with the catalogue's charset and gzips it.

    ``row_count`` counts data rows (XML: ``Message`` elements, one per order); 0 means "no
    data", which the server answers with CANCELLED.
    """

    text: str
    row_count: int
    file_format: str


def orders_between(
    seller: DemoSeller,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    added: Sequence[AddedOrders] = (),
) -> list[Order]:
    """The ground truth: every order placed in ``[start, end)`` and not after ``now``.

    Sorted by (purchase date, order id). Each order shows what has happened by ``now``:
    shipments reported, cancellation, returns. Deterministic; all datetimes must be aware.
    Raises ValueError on naive datetimes.
    """
    _require_aware(start=start, end=end, now=now)
    upper = min(end, now + timedelta(microseconds=1))
    return [o for o in _history(seller, start, upper, now, added) if start <= o.purchase_date]


def render_report(
    report_type: str,
    *,
    seller: DemoSeller,
    marketplace_ids: Sequence[str],
    data_start: datetime,
    data_end: datetime,
    now: datetime,
    added: Sequence[AddedOrders] = (),
) -> RenderedReport:
    """Render one report document of ``report_type`` from the seller's history.

    Selects rows whose own date (see the module docstring) lies in ``[data_start, data_end)``
    and not after ``now``, for orders of ``marketplace_ids``. Does not enforce the catalogue's
    rules (region, range length, regeneration window): the server does. Deterministic: the
    same arguments give the same text. Raises ValueError for an unknown report type or naive
    datetimes.
    """
    _require_aware(data_start=data_start, data_end=data_end, now=now)
    spec = REPORT_TYPES.get(report_type)
    renderer = _RENDERERS.get(report_type)
    if spec is None or renderer is None:
        raise ValueError(f"Unknown report type: {report_type}")
    ctx = _Context(
        seller=seller,
        marketplace_ids=frozenset(marketplace_ids),
        start=data_start,
        end=min(data_end, now + timedelta(microseconds=1)),
        now=now,
        added=tuple(added),
    )
    text, rows = renderer(ctx)
    return RenderedReport(text=text, row_count=rows, file_format=spec.file_format)


def _require_aware(**values: datetime) -> None:
    for name, value in values.items():
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime")


# Reference data for the generated people, places and products. Every string is Cp1252-safe.

_EU_ORDER_PREFIXES = ("302", "303", "305", "028")
_NA_ORDER_PREFIXES = ("111", "112", "113", "114")

# (first names, last names) per ship-to country.
_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "DE": (
        ("Jürgen", "Jörg", "Sören", "Günther", "Anna", "Käthe", "Björn", "Lena", "Maximilian"),
        ("Groß", "Müller", "Schäfer", "Weiß", "Köhler", "Brückner", "Nußbaum", "Zöllner", "Becker"),
    ),
    "FR": (
        ("Zoë", "Hélène", "François", "Léa", "Jérôme", "Anaïs", "Gaël", "Noël", "Chloé", "Benoît"),
        ("Lefèvre", "Dupré", "Lemaître", "Moreau", "Desbois", "Cœur", "Mérieux", "Faÿ"),
    ),
    "IT": (
        ("Niccolò", "Gianluca", "Chiara", "Martina", "Elisa", "Mattia", "Lucrezia"),
        ("Rossi", "Esposito", "D'Angelo", "Bianchi", "Pellegrini", "Lucà", "Caruso"),
    ),
    "ES": (
        ("José", "María", "Iñaki", "Begoña", "Núria", "Álvaro", "Inés"),
        ("Núñez", "Pérez", "Gómez", "Muñoz", "Ibáñez", "Peña", "Sáez"),
    ),
    "GB": (
        ("Oliver", "Amelia", "Siobhán", "Zoë", "Seán", "Harry", "Søren"),
        ("O'Brien", "Smith", "Brontë", "Jones", "Taylor", "Ærøskov", "Fitzgerald"),
    ),
    "NL": (("Daan", "Sanne", "Thijs", "Ilse"), ("de Vries", "van Dijk", "Bakker", "Visser")),
    "SE": (("Åsa", "Björn", "Märta", "Linnéa"), ("Söderström", "Lindqvist", "Åberg", "Ek")),
    "PL": (("Zofia", "Jakub", "Kinga", "Marek"), ("Nowak", "Kowalski", "Wójcik", "Król")),
    "BE": (("Lotte", "Maël", "Théo", "Elise"), ("Peeters", "Dubois", "Lemaître", "Janssens")),
    "US": (
        ("Emily", "José", "Zoë", "Michael", "Chloé", "Andrés", "Sarah", "Dmitri"),
        ("Johnson", "Núñez", "García", "O'Connor", "Smith", "Nguyen", "Müller", "Brooks"),
    ),
    "CA": (
        ("Émile", "Geneviève", "Liam", "Olivia", "Noémie"),
        ("Côté", "Tremblay", "Bouchard", "MacDonald", "Gagné"),
    ),
    "MX": (("Sofía", "José", "Ximena", "Andrés"), ("Hernández", "López", "Muñoz", "Peña")),
}

# (city, postal code, state) per ship-to country.
_CITIES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "DE": (
        ("München", "80331", "Bayern"),
        ("Köln", "50667", "Nordrhein-Westfalen"),
        ("Düsseldorf", "40213", "Nordrhein-Westfalen"),
        ("Nürnberg", "90402", "Bayern"),
        ("Mülheim an der Ruhr", "45468", "Nordrhein-Westfalen"),
        ("Lüneburg", "21335", "Niedersachsen"),
        ("Görlitz", "02826", "Sachsen"),
        ("Berlin", "10115", ""),
    ),
    "FR": (
        ("Besançon", "25000", ""),
        ("Orléans", "45000", ""),
        ("Nîmes", "30000", ""),
        ("Saint-Étienne", "42000", ""),
        ("Paris", "75011", ""),
    ),
    "IT": (
        ("Forlì", "47121", "FC"),
        ("Cantù", "22063", "CO"),
        ("Milano", "20121", "MI"),
        ("Napoli", "80134", "NA"),
        ("Roma", "00184", "RM"),
    ),
    "ES": (
        ("Cádiz", "11001", "Cádiz"),
        ("León", "24001", "León"),
        ("A Coruña", "15001", "A Coruña"),
        ("Logroño", "26001", "La Rioja"),
        ("Madrid", "28013", "Madrid"),
    ),
    "GB": (
        ("London", "SW1A 1AA", ""),
        ("Manchester", "M1 1AE", "Greater Manchester"),
        ("Edinburgh", "EH1 1YZ", "Midlothian"),
        ("Bristol", "BS1 4DJ", ""),
    ),
    "NL": (("Amsterdam", "1012 AB", ""), ("Utrecht", "3511 AA", "")),
    "SE": (("Malmö", "211 20", ""), ("Göteborg", "411 01", "")),
    "PL": (("Kraków", "31-042", ""), ("Warszawa", "00-001", "")),
    "BE": (("Liège", "4000", ""), ("Bruxelles", "1000", ""), ("Gent", "9000", "")),
    "US": (
        ("Portland", "97205", "OR"),
        ("Seattle", "98101", "WA"),
        ("Austin", "78701", "TX"),
        ("San José", "95113", "CA"),
        ("Española", "87532", "NM"),
        ("New York", "10001", "NY"),
        ("Denver", "80202", "CO"),
        ("Miami", "33101", "FL"),
    ),
    "CA": (
        ("Montréal", "H2X 1Y4", "QC"),
        ("Québec", "G1R 4P5", "QC"),
        ("Toronto", "M5V 2T6", "ON"),
        ("Vancouver", "V6B 1A1", "BC"),
        ("Calgary", "T2P 1J9", "AB"),
    ),
    "MX": (
        ("Ciudad de México", "06600", "CDMX"),
        ("Querétaro", "76000", "QRO"),
        ("Mérida", "97000", "YUC"),
    ),
}

# Street names; "{n}" is the house number, placed the way the country writes it.
_STREETS: dict[str, tuple[str, ...]] = {
    "DE": ("Hauptstraße {n}", "Goethestraße {n}", "Am Mühlbach {n}", "Schloßgasse {n}"),
    "FR": ("{n} rue de l'Église", "{n} avenue des Champs-Élysées", "{n} place du Marché"),
    "IT": ("Via Giuseppe Garibaldi {n}", "Corso Vittorio Emanuele II {n}", "Piazza Duomo {n}"),
    "ES": ("Calle Mayor {n}", "Avenida de la Constitución {n}", "Calle Núñez de Balboa {n}"),
    "GB": ("{n} High Street", "{n} Church Lane", "{n} St. Mary's Road", "{n} Ærøskøbing Close"),
    "NL": ("Prinsengracht {n}", "Oudegracht {n}"),
    "SE": ("Storgatan {n}", "Drottninggatan {n}"),
    "PL": ("ul. Grodzka {n}", "ul. Piotrkowska {n}"),
    "BE": ("Rue de la Régence {n}", "Korenmarkt {n}"),
    "US": ("{n} Maple Ave", "{n} Oak Street", "{n} Peña Blvd", "{n} Cañon Road"),
    "CA": ("{n} rue Saint-Édouard", "{n} Queen Street West", "{n} Granville St"),
    "MX": ("Av. Insurgentes Sur {n}", "Calle Hidalgo {n}"),
}

_PHONE_PREFIX = {
    "DE": "+49",
    "FR": "+33",
    "IT": "+39",
    "ES": "+34",
    "GB": "+44",
    "NL": "+31",
    "SE": "+46",
    "PL": "+48",
    "BE": "+32",
    "US": "+1",
    "CA": "+1",
    "MX": "+52",
}

_COMPANY_SUFFIX = {
    "DE": "GmbH",
    "FR": "SARL",
    "IT": "S.r.l.",
    "ES": "S.L.",
    "GB": "Ltd",
    "NL": "B.V.",
    "SE": "AB",
    "PL": "sp. z o.o.",
    "BE": "SPRL",
}

# EU: standard VAT rate of the ship-to country (OSS). NA: a sales-tax rate per state/province.
_VAT_RATES = {
    "DE": Decimal("0.19"),
    "FR": Decimal("0.20"),
    "IT": Decimal("0.22"),
    "ES": Decimal("0.21"),
    "GB": Decimal("0.20"),
    "NL": Decimal("0.21"),
    "SE": Decimal("0.25"),
    "PL": Decimal("0.23"),
    "BE": Decimal("0.21"),
}
_SALES_TAX = {
    "OR": Decimal("0"),
    "WA": Decimal("0.065"),
    "TX": Decimal("0.0625"),
    "CA": Decimal("0.0725"),
    "NM": Decimal("0.05125"),
    "NY": Decimal("0.04"),
    "CO": Decimal("0.029"),
    "FL": Decimal("0.06"),
    "QC": Decimal("0.14975"),
    "ON": Decimal("0.13"),
    "BC": Decimal("0.12"),
    "AB": Decimal("0.05"),
    "CDMX": Decimal("0.16"),
    "QRO": Decimal("0.16"),
    "YUC": Decimal("0.16"),
}

_JURISDICTION = {
    "DE": "GERMANY",
    "FR": "FRANCE",
    "IT": "ITALY",
    "ES": "SPAIN",
    "GB": "UNITED KINGDOM",
    "NL": "NETHERLANDS",
    "SE": "SWEDEN",
    "PL": "POLAND",
    "BE": "BELGIUM",
}

# Listing prices are set in EUR (EU) or USD (NA) and converted, ending in .99.
_CURRENCY_FACTOR = {
    "EUR": Decimal("1"),
    "GBP": Decimal("0.86"),
    "SEK": Decimal("11.4"),
    "PLN": Decimal("4.3"),
    "USD": Decimal("1"),
    "CAD": Decimal("1.37"),
    "MXN": Decimal("17.5"),
}

# (code, city, postal code, country) of the fulfillment centres used per ship-to country.
_FULFILLMENT_CENTERS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "DE": (
        ("FRA1", "Bad Hersfeld", "36251", "DE"),
        ("LEJ1", "Leipzig", "04347", "DE"),
        ("MUC3", "Graben", "86836", "DE"),
        ("DTM2", "Dortmund", "44145", "DE"),
    ),
    "FR": (("ORY1", "Saran", "45770", "FR"), ("LYS1", "Sevrey", "71100", "FR")),
    "IT": (("MXP5", "Castel San Giovanni", "29015", "IT"), ("FCO1", "Passo Corese", "02032", "IT")),
    "ES": (("MAD4", "San Fernando de Henares", "28830", "ES"), ("BCN1", "El Prat", "08820", "ES")),
    "GB": (("LTN1", "Ridgmont", "MK43 0ZA", "GB"), ("MAN1", "Manchester", "M90 5AA", "GB")),
    "US": (
        ("LEX1", "Lexington", "40511", "US"),
        ("PHX3", "Phoenix", "85043", "US"),
        ("ONT8", "Moreno Valley", "92551", "US"),
        ("BFI4", "Kent", "98032", "US"),
    ),
    "CA": (("YYZ4", "Brampton", "L6T 5M5", "CA"), ("YVR3", "Delta", "V4G 1A1", "CA")),
    "MX": (("MEX1", "Tepotzotlán", "54600", "MX"),),
}

_CARRIERS = {
    "DE": ("DHL", "HERMES", "DPD", "AMZN_DE"),
    "FR": ("Colissimo", "Chronopost", "AMZN_FR"),
    "IT": ("BRT", "Poste Italiane", "AMZN_IT"),
    "ES": ("SEUR", "Correos", "AMZN_ES"),
    "GB": ("Royal Mail", "DPD", "AMZN_UK"),
    "US": ("AMZN_US", "USPS", "UPS"),
    "CA": ("Canada Post", "AMZN_CA"),
    "MX": ("Estafeta", "AMZN_MX"),
}

# \u2013 (en dash) exists in Cp1252 but not in ISO-8859-1, so a decoder that confuses the two
# shows it wrongly; real titles use it often.
_EU_PRODUCTS: tuple[tuple[str, str], ...] = (
    ("Edelstahl-Schneebesen 30 cm, spülmaschinenfest", "12.99"),
    ("Küchenwaage digital \u2013 bis 5 kg, Glas", "19.99"),
    ("Brotkasten aus Bambus mit Schneidebrett", "34.99"),
    ("Gewürzregal für 20 Gläser, Eiche geölt", "27.99"),
    ("Geschirrtücher 100 % Baumwolle, 5er-Set", "14.99"),
    ("Kaffeemühle manuell mit Keramikmahlwerk", "24.99"),
    ("Thermoskanne 1 l, Edelstahl, Salbeigrün", "22.99"),
    ('Tortenring 26 cm (10") verstellbar', "9.99"),
    ("Käsereibe mit Auffangbehälter", "11.99"),
    ("Spätzlehobel aus Edelstahl", "15.99"),
    ("Wäschekorb faltbar, 60 l", "18.99"),
    ("Duftkerze Lavendel \u2013 Sojawachs, 40 Std.", "16.99"),
    ("Teelichter 100 Stück, 8 Std. Brenndauer", "13.99"),
    ("Frühstücksbrettchen Buche, 4er-Set", "17.99"),
    ("Ölflasche mit Ausgießer 500 ml", "8.99"),
    ("Crème-brûlée-Förmchen, 6 Stück", "21.99"),
)
_NA_PRODUCTS: tuple[tuple[str, str], ...] = (
    ("Insulated Water Bottle 32 oz, Stainless Steel", "24.99"),
    ("Camping Hammock with Tree Straps", "39.99"),
    ("Trail Headlamp, 350 Lumens, Rechargeable", "29.99"),
    ("Merino Wool Hiking Socks, 3 Pairs", "27.99"),
    ("Folding Camp Chair \u2013 Lightweight", "49.99"),
    ("Paracord Bracelet 550 lb, Olive", "9.99"),
    ('Cast Iron Skillet 10" Pre-Seasoned', "34.99"),
    ("Café-Style Enamel Camp Mug", "14.99"),
    ("Piñon Pine Scented Candle", "19.99"),
    ("Dry Bag 20 L, Roll-Top", "21.99"),
    ("Emergency Mylar Blankets, 10-Pack", "12.99"),
    ("Tent Footprint 7' x 7'", "32.99"),
    ("Collapsible Silicone Bowl Set", "17.99"),
    ("Trekking Poles, Carbon, Pair", "69.99"),
)

# Where MFN parcels leave from (VCS "Ship From"), per seller seed; unknown sellers use the default.
_SELLER_WAREHOUSES: dict[int, tuple[str, str, str]] = {
    4711: ("Lüdenscheid", "58507", "DE"),
    815: ("Würzburg", "97070", "DE"),
    1776: ("Bend", "97701", "US"),
}
_DEFAULT_WAREHOUSE = ("Hannover", "30159", "DE")

_RETURN_REASONS = ("UNWANTED_ITEM", "NOT_COMPATIBLE", "DEFECTIVE", "NOT_AS_DESCRIBED")
_DISPOSITIONS = ("SELLABLE", "SELLABLE", "CUSTOMER_DAMAGED", "DEFECTIVE", "CARRIER_DAMAGED")
_RETURN_COMMENTS = {
    "DE": ("Größe passt nicht", "Gefällt mir nicht", "Artikel war beschädigt"),
    "FR": ("Ne correspond pas à la description", "Arrivé abîmé"),
    "IT": ("Non è quello che mi aspettavo",),
    "ES": ("No es lo que esperaba", "Llegó dañado"),
    "GB": ("Not as described", "Changed my mind"),
    "US": ("Too small", "Did not fit my pack"),
    "CA": ("Ne convient pas", "Wrong size"),
    "MX": ("No era lo que esperaba",),
}

_UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_MIXED_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class _Product:
    sku: str
    asin: str
    fnsku: str
    name: str
    base_price: Decimal
    fulfillment: str  # which offer the seller runs for it: "AFN" | "MFN"


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


# Enough for the fleet benchmark's thousand sellers (catalog.fleet_sellers).
@lru_cache(maxsize=2048)
def _products(seller: DemoSeller) -> tuple[_Product, ...]:
    """The seller's listings: 12 products, alternately fulfilled by Amazon and by the seller."""
    rng = random.Random(f"{seller.seed}:catalog")
    pool = _EU_PRODUCTS if seller.region == "eu" else _NA_PRODUCTS
    prefix = "".join(word[0] for word in seller.store_name.split())[:2].upper() or "SK"
    products: list[_Product] = []
    skus: set[str] = set()
    for index, (name, price) in enumerate(rng.sample(pool, 12)):
        sku = f"{prefix}-{rng.randint(1000, 9999)}-{_chars(rng, 'ABCDEFGHJKLMNPRSTWZ', 2)}"
        # SKUs in real report files come in lower case and with commas; keep one of each so
        # importers and CSV quoting get exercised.
        if index == 3:
            sku = sku.lower()
        elif index == 5:
            sku = f"{sku},2ER"
        if sku in skus:
            sku = f"{sku}-{index}"
        skus.add(sku)
        asin = "B0" + _chars(rng, _UPPER_ALNUM, 8)
        products.append(
            _Product(
                sku=sku,
                asin=asin,
                fnsku="X00" + _chars(rng, _UPPER_ALNUM, 7),
                name=name,
                base_price=Decimal(price),
                fulfillment="AFN" if index % 2 == 0 else "MFN",
            )
        )
    return tuple(products)


def _price(base: Decimal, currency: str) -> Decimal:
    converted = (base * _CURRENCY_FACTOR.get(currency, Decimal("1"))).quantize(Decimal("1"))
    return max(converted, Decimal("1")) - _CENT


def _q(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _tax_of(amount: Decimal, rate: Decimal, region: str) -> Decimal:
    """EU: the VAT contained in a gross amount. NA: the sales tax added on top of a net amount."""
    if region == "eu":
        return _q(amount - amount / (1 + rate))
    return _q(amount * rate)


# History


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit = pow(2.718281828459045, -lam)
    k, p = 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _history_seed(seller: DemoSeller) -> str:
    # History 0 keeps the plain seed, so the demo's orders stay what they always were.
    return str(seller.seed) if seller.history == 0 else f"{seller.seed}/{seller.history}"


def _scramble(n: int) -> int:
    # A bijection on 0..9_999_999 (7919 is coprime with 10), so distinct n give distinct ids
    # that do not look sequential.
    return (n * 7919 + 4_711_000) % 10_000_000


@lru_cache(maxsize=8192)
def _day_slots(seller: DemoSeller, day: date) -> tuple[int, ...]:
    """The second of the day (UTC) at which each of the day's orders is placed, in order: the
    cheap part of a day, drawn from the day's own random stream. Order ``index`` of the day is
    placed at ``_day_slots(...)[index]``."""
    rng = random.Random(f"{_history_seed(seller)}:{day.isoformat()}")
    # Weekends sell a little more, like real shops.
    factor = 1.25 if day.weekday() >= 5 else 1.0
    count = min(_poisson(rng, seller.orders_per_day * factor), 999)
    return tuple(sorted(rng.randrange(86_400) for _ in range(count)))


@lru_cache(maxsize=65_536)
def _day_order(seller: DemoSeller, day: date, index: int) -> Order:
    """Order ``index`` of the day, with its whole future: made from its own random stream, so
    it is the same whether the whole day or only a few minutes of it are asked for."""
    second = _day_slots(seller, day)[index]
    order_rng = random.Random(f"{_history_seed(seller)}:{day.isoformat()}:{index}")
    # The middle block is unique per (day, index) for 27 years, so history ids never clash.
    middle = f"{_scramble((day.toordinal() % 10_000) * 1000 + index):07d}"
    return _make_order(
        seller,
        order_rng,
        purchase=datetime.combine(day, time(0), tzinfo=UTC) + timedelta(seconds=second),
        middle=middle,
    )


@lru_cache(maxsize=8192)
def _day_orders(seller: DemoSeller, day: date) -> tuple[Order, ...]:
    """All orders placed on ``day`` (UTC), with their whole future (not filtered by any now)."""
    return tuple(_day_order(seller, day, index) for index in range(len(_day_slots(seller, day))))


def _orders_placed(seller: DemoSeller, day: date, start: datetime, end: datetime) -> list[Order]:
    """The day's orders placed in ``[start, end)``. A range shorter than the day makes only the
    orders inside it (a 15-minute report of a seller with 600 orders a day makes about six,
    not 600: what keeps the sandbox answering when a fleet's reports finish at once); the
    orders are those the whole day has, in the same order."""
    midnight = datetime.combine(day, time(0), tzinfo=UTC)
    if start <= midnight and end >= midnight + timedelta(days=1):
        return list(_day_orders(seller, day))
    first = max(0.0, (start - midnight).total_seconds())
    last = (end - midnight).total_seconds()
    slots = _day_slots(seller, day)
    return [
        _day_order(seller, day, index)
        for index in range(bisect_left(slots, math.floor(first)), bisect_left(slots, last))
    ]


@lru_cache(maxsize=1024)
def _added_orders(seller: DemoSeller, batch: AddedOrders) -> tuple[Order, ...]:
    orders = []
    for index in range(batch.count):
        rng = random.Random(f"{_history_seed(seller)}:added:{batch.batch_seed}:{index}")
        orders.append(
            _make_order(
                seller,
                rng,
                purchase=batch.placed_at.astimezone(UTC),
                middle=_digits(rng, 7),
                fulfillment=batch.fulfillment,
                marketplace_id=batch.marketplace_id,
                quick=True,
                cancel_after=(
                    None
                    if batch.cancel_after_seconds is None
                    else timedelta(seconds=batch.cancel_after_seconds)
                ),
            )
        )
    return tuple(orders)


def _make_order(
    seller: DemoSeller,
    rng: random.Random,
    *,
    purchase: datetime,
    middle: str,
    fulfillment: str | None = None,
    marketplace_id: str | None = None,
    quick: bool = False,
    cancel_after: timedelta | None = None,
) -> Order:
    """One order with its whole lifecycle. ``quick``: ships within minutes and is cancelled
    only when ``cancel_after`` (MFN) says after how long from its payment."""
    if marketplace_id is None:
        # The first marketplace is the seller's home market and sells the most.
        weights = [3] + [1] * (len(seller.marketplace_ids) - 1)
        marketplace_id = rng.choices(seller.marketplace_ids, weights=weights)[0]
    marketplace = MARKETPLACES[marketplace_id]
    country = marketplace.country_code
    if fulfillment is None:
        fulfillment = rng.choice(("MFN", "AFN"))
    elif fulfillment not in ("MFN", "AFN"):
        raise ValueError(f"fulfillment must be MFN or AFN, not {fulfillment!r}")
    prefixes = _EU_ORDER_PREFIXES if marketplace.region == "eu" else _NA_ORDER_PREFIXES
    order_id = f"{rng.choice(prefixes)}-{middle}-{_digits(rng, 7)}"

    firsts, lasts = _NAMES.get(country, _NAMES["DE"])
    buyer_name = f"{rng.choice(firsts)} {rng.choice(lasts)}"
    recipient_name = (
        buyer_name if rng.random() < 0.85 else f"{rng.choice(firsts)} {rng.choice(lasts)}"
    )
    city, postal_code, state = rng.choice(_CITIES.get(country, _CITIES["DE"]))
    street = rng.choice(_STREETS.get(country, _STREETS["DE"])).format(n=rng.randint(1, 180))
    address_2 = ""
    if rng.random() < 0.1:
        address_2 = rng.choice(("2. OG", "c/o Schmidt", "Apt. 4B", "Hinterhaus", "Bâtiment C"))
    phone = f"{_PHONE_PREFIX.get(country, '+49')} {_digits(rng, 3)} {_digits(rng, 7)}"
    domain = marketplace.domain.removeprefix("www.amazon.")
    buyer_email = (
        f"{_chars(rng, 'abcdefghijklmnopqrstuvwxyz0123456789', 14)}@marketplace.amazon.{domain}"
    )

    is_business = marketplace.region == "eu" and rng.random() < 0.1
    company = vat_number = po_number = ""
    if is_business:
        company = f"{rng.choice(lasts)} {_COMPANY_SUFFIX.get(country, 'GmbH')}"
        vat_number = f"{country}{_digits(rng, 9)}"
        po_number = f"PO-{_digits(rng, 6)}" if rng.random() < 0.5 else ""

    if marketplace.region == "eu":
        rate = _VAT_RATES.get(country, Decimal("0.19"))
    else:
        rate = _SALES_TAX.get(state, Decimal("0"))
    candidates = [p for p in _products(seller) if p.fulfillment == fulfillment]
    line_count = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
    chosen = rng.sample(candidates, min(line_count, len(candidates)))
    paid_shipping = fulfillment == "MFN" and rng.random() < 0.4
    items = []
    used_ids: set[str] = set()
    for position, product in enumerate(chosen):
        item_id = _digits(rng, 14)
        while item_id in used_ids:
            item_id = _digits(rng, 14)
        used_ids.add(item_id)
        quantity = rng.choices((1, 2, 3), weights=(8, 2, 1))[0]
        item_price = _price(product.base_price, marketplace.currency) * quantity
        shipping = _ZERO
        if paid_shipping and position == 0:
            shipping = _price(Decimal("4"), marketplace.currency)
        items.append(
            OrderItem(
                order_item_id=item_id,
                sku=product.sku,
                asin=product.asin,
                fnsku=product.fnsku,
                product_name=product.name,
                quantity=quantity,
                item_price=item_price,
                item_tax=_tax_of(item_price, rate, marketplace.region),
                shipping_price=shipping,
                shipping_tax=_tax_of(shipping, rate, marketplace.region),
                vat_rate=rate,
            )
        )

    payments_date = purchase + timedelta(seconds=rng.randint(0, 600))
    ship_service_level = "Expedited" if rng.random() < 0.2 else "Standard"
    cancelled_at = None
    cancelled_after_payment = False
    shipments: list[Shipment] = []
    returns: list[Return] = []
    if fulfillment == "MFN" and not quick and rng.random() < 0.06:
        # Cancelled while still pending (before payment cleared), so these orders never reach
        # the MFN order reports.
        cancelled_at = purchase + timedelta(minutes=rng.randint(5, 240))
    elif fulfillment == "MFN":
        delay = (
            timedelta(minutes=rng.randint(10, 30))
            if quick
            else timedelta(hours=rng.randint(12, 60))
        )
        shipment = _make_shipment(
            rng,
            marketplace,
            shipped=purchase + delay,
            items=tuple(items),
            fulfillment_center=None,
            quick=quick,
        )
        if quick:
            cancelled_at = None if cancel_after is None else payments_date + cancel_after
        else:
            cancelled_at = _cancellation_after_payment(
                order_id, paid=payments_date, shipped=shipment.shipment_date
            )
        cancelled_after_payment = cancelled_at is not None
        if not cancelled_after_payment:
            shipments.append(shipment)
    else:
        groups: list[tuple[OrderItem, ...]] = [tuple(items)]
        # An FBA order with several lines is sometimes split over two fulfillment centres.
        if len(items) >= 2 and rng.random() < 0.35:
            groups = [tuple(items[:1]), tuple(items[1:])]
        shipped = purchase + (
            timedelta(minutes=rng.randint(2, 10)) if quick else timedelta(hours=rng.randint(3, 30))
        )
        centers = _FULFILLMENT_CENTERS.get(country, _FULFILLMENT_CENTERS["DE"])
        for group in groups:
            shipments.append(
                _make_shipment(
                    rng,
                    marketplace,
                    shipped=shipped,
                    items=group,
                    fulfillment_center=rng.choice(centers)[0],
                    quick=quick,
                )
            )
            shipped += timedelta(hours=rng.randint(20, 72))
        if not quick and rng.random() < 0.12:
            shipment = rng.choice(shipments)
            shipment_item = rng.choice(shipment.items)
            item = next(i for i in items if i.order_item_id == shipment_item.order_item_id)
            returned = shipment.shipment_date + timedelta(
                days=rng.randint(5, 30), seconds=rng.randrange(86_400)
            )
            comments = _RETURN_COMMENTS.get(country, ("",))
            returns.append(
                Return(
                    return_id=_digits(rng, 14),
                    return_date=returned,
                    shipment_id=shipment.shipment_id,
                    order_item_id=item.order_item_id,
                    sku=item.sku,
                    asin=item.asin,
                    fnsku=item.fnsku,
                    product_name=item.product_name,
                    quantity=rng.randint(1, shipment_item.quantity),
                    fulfillment_center_id=shipment.fulfillment_center_id,
                    detailed_disposition=rng.choice(_DISPOSITIONS),
                    reason=rng.choice(_RETURN_REASONS),
                    status=rng.choice(("Unit returned to inventory", "Reimbursed")),
                    license_plate_number="LPN" + _chars(rng, _UPPER_ALNUM, 10),
                    customer_comments=rng.choice(comments) if rng.random() < 0.4 else "",
                    credit_note_number=_invoice_number(rng, country, returned, "CN"),
                )
            )

    order = Order(
        amazon_order_id=order_id,
        marketplace_id=marketplace.id,
        sales_channel=marketplace.sales_channel,
        fulfillment=fulfillment,
        purchase_date=purchase,
        payments_date=payments_date,
        last_updated=purchase,
        status="Pending",
        is_business_order=is_business,
        currency=marketplace.currency,
        buyer_name=buyer_name,
        buyer_email=buyer_email,
        buyer_phone=phone,
        buyer_company_name=company,
        buyer_vat_number=vat_number,
        purchase_order_number=po_number,
        recipient_name=recipient_name,
        address_1=street,
        address_2=address_2,
        address_3="",
        city=city,
        state=state,
        postal_code=postal_code,
        country_code=country,
        ship_phone=phone,
        ship_service_level=ship_service_level,
        items=tuple(items),
        shipments=tuple(shipments),
        cancelled=cancelled_at is not None,
        cancelled_at=cancelled_at,
        returns=tuple(returns),
        cancelled_after_payment=cancelled_after_payment,
    )
    return _add_extras(order, marketplace)


# Gift wrap per unit (EUR or USD before conversion) and the shares of item promotions.
_GIFT_WRAP_BASE = Decimal("3")
_PROMOTION_SHARES = (Decimal("0.05"), Decimal("0.10"), Decimal("0.15"), Decimal("0.20"))


def _add_extras(order: Order, marketplace: Marketplace) -> Order:
    """Gift wrap, promotions and the billing address of an order.

    Drawn from their own generator, seeded with the order id, so that the rest of the history
    (every earlier draw, every other order) stays what it was before these existed. Some 6 % of
    lines are gift wrapped, some 10 % have an item promotion; a third of the MFN orders and
    15 % of the FBA orders show a shipping charge that a free-shipping promotion takes off again
    (as the real FBA files do: shipping 0.75, ship-promotion-discount -0.75). One buyer in ten
    has the invoice sent to another address.
    """
    rng = random.Random(f"{order.amazon_order_id}:extras")
    region, currency = marketplace.region, marketplace.currency
    free_shipping = rng.random() < (0.33 if order.fulfillment == "MFN" else 0.15)
    ship_promotion_id = f"FreeShipping-{_digits(rng, 10)}" if free_shipping else ""
    items = []
    for position, item in enumerate(order.items):
        changes: dict[str, object] = {}
        if rng.random() < 0.06:
            gift_wrap = _price(_GIFT_WRAP_BASE, currency) * item.quantity
            changes |= {
                "gift_wrap_price": gift_wrap,
                "gift_wrap_tax": _tax_of(gift_wrap, item.vat_rate, region),
            }
        if rng.random() < 0.10:
            discount = _q(item.item_price * rng.choice(_PROMOTION_SHARES))
            changes |= {
                "item_promotion_discount": -discount,
                "item_promotion_tax": -_tax_of(discount, item.vat_rate, region),
                "item_promotion_id": "A" + _chars(rng, _UPPER_ALNUM, 13),
            }
        if free_shipping and position == 0:
            shipping = item.shipping_price or _price(Decimal("3"), currency)
            shipping_tax = _tax_of(shipping, item.vat_rate, region)
            changes |= {
                "shipping_price": shipping,
                "shipping_tax": shipping_tax,
                "ship_promotion_discount": -shipping,
                "ship_promotion_tax": -shipping_tax,
                "ship_promotion_id": ship_promotion_id,
            }
        items.append(replace(item, **changes) if changes else item)
    billing = (order.buyer_name, order.address_1, order.city, order.state, order.postal_code)
    if rng.random() < 0.1:
        city, postal_code, state = rng.choice(_CITIES.get(order.country_code, _CITIES["DE"]))
        street = rng.choice(_STREETS.get(order.country_code, _STREETS["DE"]))
        billing = (
            order.buyer_company_name or order.buyer_name,
            street.format(n=rng.randint(1, 180)),
            city,
            state,
            postal_code,
        )
    name, address_1, city, state, postal_code = billing
    return replace(
        order,
        items=tuple(items),
        billing_name=name,
        bill_address_1=address_1,
        bill_city=city,
        bill_state=state,
        bill_postal_code=postal_code,
        bill_country_code=order.country_code,
    )


def _cancellation_after_payment(
    order_id: str, *, paid: datetime, shipped: datetime
) -> datetime | None:
    """When the buyer cancels this paid MFN order before the seller ships it (about one order
    in twenty), or None.

    Drawn from the order id rather than the order's own random stream, so that adding these
    cancellations left every other order of the histories as it was.
    """
    rng = random.Random(f"{order_id}:cancelled-after-payment")
    if rng.random() >= 0.05:
        return None
    # Whole seconds, as every date of the reports.
    return paid + timedelta(seconds=int((shipped - paid).total_seconds() * rng.uniform(0.1, 0.8)))


def _invoice_number(rng: random.Random, country: str, when: datetime, kind: str = "INV") -> str:
    # Shape of the real VCS sample: INV-DE-<10 digits>-<year>-<sequence>.
    return f"{kind}-{country}-{_digits(rng, 10)}-{when.year}-{rng.randint(1, 99999)}"


def _make_shipment(
    rng: random.Random,
    marketplace: Marketplace,
    *,
    shipped: datetime,
    items: tuple[OrderItem, ...],
    fulfillment_center: str | None,
    quick: bool,
) -> Shipment:
    country = marketplace.country_code
    carrier = rng.choice(_CARRIERS.get(country, _CARRIERS["DE"]))
    if carrier.startswith("AMZN"):
        tracking = "TBA" + _digits(rng, 12)
    else:
        tracking = _digits(rng, rng.choice((12, 14, 20)))
    if fulfillment_center is None:
        # Seller-confirmed MFN shipment: numeric id, as in the VCS sample's Shipment ID.
        shipment_id = _digits(rng, 14)
        reporting = shipped
    else:
        # FBA shipment and shipment-item ids look like "DH648jP2N" in the real files.
        shipment_id = "D" + _chars(rng, _MIXED_ALNUM, 8)
        lag = timedelta(minutes=rng.randint(1, 3)) if quick else timedelta(hours=rng.randint(1, 3))
        reporting = shipped + lag
    arrival_day = (shipped + timedelta(days=rng.randint(1, 4))).date()
    document = uuid.UUID(int=rng.getrandbits(128), version=4)
    part = uuid.UUID(int=rng.getrandbits(128), version=4)
    invoice_url = (
        f"https://{marketplace.domain}/gp/invoice/download.html"
        f"?v=urn%3aalx%3adoc%3a{document}%3a{part}&t=EU_Retail_Forward"
    )
    return Shipment(
        shipment_id=shipment_id,
        shipment_date=shipped,
        reporting_date=reporting,
        estimated_arrival_date=datetime.combine(arrival_day, time(20), tzinfo=UTC),
        carrier=carrier,
        tracking_number=tracking,
        fulfillment_center_id=fulfillment_center or "",
        items=tuple(
            ShipmentItem(
                shipment_item_id=(
                    "D" + _chars(rng, _MIXED_ALNUM, 8) if fulfillment_center else _digits(rng, 14)
                ),
                order_item_id=item.order_item_id,
                quantity=item.quantity,
            )
            for item in items
        ),
        invoice_number=_invoice_number(rng, country, shipped),
        invoice_url=invoice_url if marketplace.region == "eu" else "",
    )


def _as_of(order: Order, now: datetime) -> Order:
    """The order as known at ``now``: later shipments, returns and cancellations are hidden."""
    shipments = tuple(s for s in order.shipments if s.reporting_date <= now)
    shipped_ids = {s.shipment_id for s in shipments}
    returns = tuple(
        r for r in order.returns if r.return_date <= now and r.shipment_id in shipped_ids
    )
    cancelled_at = order.cancelled_at
    if cancelled_at is not None and cancelled_at > now:
        cancelled_at = None
    events = [order.payments_date if order.payments_date <= now else order.purchase_date]
    events += [s.reporting_date for s in shipments] + [r.return_date for r in returns]
    if cancelled_at is not None:
        status = "Canceled"
        events.append(cancelled_at)
    elif order.payments_date > now or (
        order.cancelled_at is not None and not order.cancelled_after_payment
    ):
        # Still pending: either not paid yet, or about to be cancelled before payment clears.
        status = "Pending"
    elif not shipments:
        status = "Unshipped"
    elif len(shipments) < len(order.shipments):
        status = "PartiallyShipped"
    else:
        status = "Shipped"
    return replace(
        order,
        shipments=shipments,
        returns=returns,
        cancelled=cancelled_at is not None,
        cancelled_at=cancelled_at,
        status=status,
        last_updated=max(events),
    )


def _history(
    seller: DemoSeller,
    start: datetime,
    end: datetime,
    now: datetime,
    added: Iterable[AddedOrders],
) -> list[Order]:
    """Orders placed in ``[start, end)`` and not after ``now``, as of ``now``, sorted."""
    first_history_day = (now - timedelta(days=HISTORY_DAYS)).astimezone(UTC).date()
    first_day = max(start.astimezone(UTC).date(), first_history_day)
    last_day = min(end.astimezone(UTC).date(), now.astimezone(UTC).date())
    found: list[Order] = []
    day = first_day
    while day <= last_day:
        found.extend(_orders_placed(seller, day, start, end))
        day += timedelta(days=1)
    for batch in added:
        _require_aware(placed_at=batch.placed_at)
        if start <= batch.placed_at < end:
            found.extend(_added_orders(seller, batch))
    return sorted(
        (
            _as_of(o, now)
            for o in found
            if start <= o.purchase_date < end and o.purchase_date <= now
        ),
        key=lambda o: (o.purchase_date, o.amazon_order_id),
    )


# Rendering helpers


@dataclass(frozen=True)
class _Context:
    seller: DemoSeller
    marketplace_ids: frozenset[str]
    start: datetime
    end: datetime
    now: datetime
    added: tuple[AddedOrders, ...]

    def orders(self, *, lookback_days: int = 0) -> list[Order]:
        """Orders of the requested marketplaces placed from ``lookback_days`` before start."""
        begin = self.start - timedelta(days=lookback_days)
        return [
            o
            for o in _history(self.seller, begin, self.end, self.now, self.added)
            if o.marketplace_id in self.marketplace_ids
        ]

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end and moment <= self.now


def _pacific_offset(moment: datetime) -> timedelta:
    """US Pacific UTC offset: DST from the 2nd Sunday of March to the 1st Sunday of November.

    Hand-written so the generator does not depend on the host's time-zone database.
    """
    utc = moment.astimezone(UTC)
    march = date(utc.year, 3, 1)
    dst_start = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
    november = date(utc.year, 11, 1)
    dst_end = november + timedelta(days=(6 - november.weekday()) % 7)
    # 02:00 local standard time = 10:00 UTC; 02:00 local daylight time = 09:00 UTC.
    start = datetime.combine(dst_start, time(10), tzinfo=UTC)
    end = datetime.combine(dst_end, time(9), tzinfo=UTC)
    return timedelta(hours=-7) if start <= utc < end else timedelta(hours=-8)


def _iso(moment: datetime, region: str) -> str:
    offset = timedelta(0) if region == "eu" else _pacific_offset(moment)
    return moment.astimezone(timezone(offset)).isoformat(timespec="seconds")


def _vcs_date(moment: datetime) -> str:
    # "27-Nov-2021 UTC", spelled out by hand so the locale cannot change the month name.
    utc = moment.astimezone(UTC)
    return f"{utc.day:02d}-{_MONTHS[utc.month - 1]}-{utc.year} UTC"


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _tsv(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> tuple[str, int]:
    """A tab-separated document: header, one line per row, CRLF after every line.

    Values are written unquoted, as Amazon does; tabs and line breaks inside values (none are
    generated) are replaced by spaces so a plain TAB split always works.
    """
    lines = ["\t".join(columns)]
    for row in rows:
        unknown = set(row) - set(columns)
        if unknown:
            raise AssertionError(f"Columns not in the header: {sorted(unknown)}")
        lines.append("\t".join(_clean(row.get(c, "")) for c in columns))
    return _CRLF.join(lines) + _CRLF, len(rows)


def _clean(value: str) -> str:
    return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _split(value: Decimal, part: int, whole: int) -> Decimal:
    return value if part == whole else _q(value * part / whole)


# Column lists: exactly the header lines of real report files and public parsers, recorded with
# their sources in tests/data/report_headers.tsv and tests/data/PROVENANCE.md.

# The US 2017 "New Orders" layout of a real file (30 columns, with sales-channel).
_MFN_NA_COLUMNS = (
    "order-id order-item-id purchase-date payments-date buyer-email buyer-name "
    "buyer-phone-number sku product-name quantity-purchased currency item-price item-tax "
    "shipping-price shipping-tax ship-service-level recipient-name ship-address-1 ship-address-2 "
    "ship-address-3 ship-city ship-state ship-postal-code ship-country ship-phone-number "
    "delivery-start-date delivery-end-date delivery-time-zone delivery-Instructions sales-channel"
).split()

# The EU layout with the B2B/VAT columns (37 columns), as an integration's source code quotes it.
_MFN_EU_COLUMNS = [
    *_MFN_NA_COLUMNS,
    *(
        "is-business-order purchase-order-number price-designation is-amazon-invoiced "
        "vat-exclusive-item-price vat-exclusive-shipping-price vat-exclusive-giftwrap-price"
    ).split(),
]

# Identical in real DE 2012, US 2013 and US 2020 files (48 columns). No separate layout for
# _INVOICING is known, so it uses this one too.
_FBA_SHIPMENT_COLUMNS = (
    "amazon-order-id merchant-order-id shipment-id shipment-item-id amazon-order-item-id "
    "merchant-order-item-id purchase-date payments-date shipment-date reporting-date buyer-email "
    "buyer-name buyer-phone-number sku product-name quantity-shipped currency item-price item-tax "
    "shipping-price shipping-tax gift-wrap-price gift-wrap-tax ship-service-level recipient-name "
    "ship-address-1 ship-address-2 ship-address-3 ship-city ship-state ship-postal-code "
    "ship-country ship-phone-number bill-address-1 bill-address-2 bill-address-3 bill-city "
    "bill-state bill-postal-code bill-country item-promotion-discount ship-promotion-discount "
    "carrier tracking-number estimated-arrival-date fulfillment-center-id fulfillment-channel "
    "sales-channel"
).split()

# 13 columns, as public parsers and a connector's fixture list them (no real file was found).
_RETURN_COLUMNS = (
    "return-date order-id sku asin fnsku product-name quantity fulfillment-center-id "
    "detailed-disposition reason status license-plate-number customer-comments"
).split()

# Mixed case and a space in the last two names, as Amazon spells them.
_AFN_INVENTORY_COLUMNS = [
    "seller-sku",
    "fulfillment-channel-sku",
    "asin",
    "condition-type",
    "Warehouse-Condition-code",
    "Quantity Available",
]

# The order in which the FikaAmazonAPI parser (abuzuhri/Amazon-SP-API-CSharp) reads the columns
# (no real sample was found).
_VIDR_COLUMNS = (
    "marketplace-id order-id order-item-id shipping-id transaction-id transaction-type "
    "invoice-number invoice-status invoice-status-description is-amazon-invoiced order-date "
    "shipment-date buyer-vat-number seller-vat-number asin sku product-name quantity-purchased "
    "currency item-vat-incl-amount item-vat-amount item-vat-excl-amount item-vat-rate "
    "item-promo-vat-incl-amount item-promo-vat-excl-amount item-promo-vat-amount "
    "item-promo-vat-rate item-promotion-id gift-wrap-vat-incl-amount gift-wrap-vat-amount "
    "gift-wrap-vat-excl-amount gift-wrap-vat-rate gift-promo-vat-incl-amount "
    "gift-promo-vat-excl-amount gift-promo-vat-amount gift-promo-vat-rate gift-promotion-id "
    "shipping-vat-incl-amount shipping-vat-amount shipping-vat-excl-amount shipping-vat-rate "
    "shipping-promo-vat-incl-amount shipping-promo-vat-excl-amount shipping-promo-vat-amount "
    "shipping-promo-vat-rate ship-promotion-id is-business-order price-designation "
    "purchase-order-number recipient-name ship-service-level fulfilled-by ship-address-1 "
    "ship-address-2 ship-address-3 ship-city ship-state ship-postal-code ship-country "
    "ship-phone-number ship-from-country ship-from-state ship-from-city ship-from-postal-code "
    "billing-name bill-address-1 bill-address-2 bill-address-3 bill-city bill-state "
    "bill-postal-code bill-country billing-phone-number buyer-name buyer-company-name "
    "legacy-customer-order-item-id recommended-invoice-format buyer-tax-registration-type "
    "buyer-e-invoice-account-id is-buyer-physically-present is-seller-physically-present "
    "citation-es citation-it citation-fr citation-de citation-en export-outside-eu "
    "is-invoice-corrected original-vat-invoice-number invoice-correction-details"
).split()

# The 73-column VCS header of a real DE 2021 file, as an Odoo module's comments quote it.
_VCS_COLUMNS = [
    "Marketplace ID",
    "Merchant ID",
    "Order Date",
    "Transaction Type",
    "Is Invoice Corrected",
    "Order ID",
    "Shipment Date",
    "Shipment ID",
    "Transaction ID",
    "ASIN",
    "SKU",
    "Quantity",
    "Tax Calculation Date",
    "Tax Rate",
    "Product Tax Code",
    "Currency",
    "Tax Type",
    "Tax Calculation Reason Code",
    "Tax Reporting Scheme",
    "Tax Collection Responsibility",
    "Tax Address Role",
    "Jurisdiction Level",
    "Jurisdiction Name",
    *(
        f"{component} {amount}"
        for component in ("OUR_PRICE", "SHIPPING", "GIFTWRAP")
        for amount in (
            "Tax Inclusive Selling Price",
            "Tax Amount",
            "Tax Exclusive Selling Price",
            "Tax Inclusive Promo Amount",
            "Tax Amount Promo",
            "Tax Exclusive Promo Amount",
        )
    ),
    "Seller Tax Registration",
    "Seller Tax Registration Jurisdiction",
    "Buyer Tax Registration",
    "Buyer Tax Registration Jurisdiction",
    "Buyer Tax Registration Type",
    "Buyer E Invoice Account Id",
    "Invoice Level Currency Code",
    "Invoice Level Exchange Rate",
    "Invoice Level Exchange Rate Date",
    "Converted Tax Amount",
    "VAT Invoice Number",
    "Invoice Url",
    "Export Outside EU",
    "Ship From City",
    "Ship From State",
    "Ship From Country",
    "Ship From Postal Code",
    "Ship From Tax Location Code",
    "Ship To City",
    "Ship To State",
    "Ship To Country",
    "Ship To Postal Code",
    "Ship To Location Code",
    "Return Fc Country",
    "Is Amazon Invoiced",
    "Original VAT Invoice Number",
    "Invoice Correction Details",
    "SDI Invoice Delivery Status",
    "SDI Invoice Error Code",
    "SDI Invoice Error Description",
    "SDI Invoice Status Last Updated Date",
    "EInvoice URL",
]

# The start of the header as public parsers of the VAT Transactions Report read it (upper case
# in real files); the rest is unverified, so the sandbox renders only these columns.
_VAT_TRANSACTION_COLUMNS = (
    "UNIQUE_ACCOUNT_IDENTIFIER ACTIVITY_PERIOD SALES_CHANNEL MARKETPLACE PROGRAM_TYPE "
    "TRANSACTION_TYPE TRANSACTION_EVENT_ID ACTIVITY_TRANSACTION_ID TAX_CALCULATION_DATE "
    "TRANSACTION_DEPART_DATE TRANSACTION_ARRIVAL_DATE TRANSACTION_COMPLETE_DATE SELLER_SKU ASIN "
    "ITEM_DESCRIPTION ITEM_MANUFACTURE_COUNTRY QTY ITEM_WEIGHT TOTAL_ACTIVITY_WEIGHT "
    "COST_PRICE_OF_ITEMS PRICE_OF_ITEMS_AMT_VAT_EXCL"
).split()

# Amazon's documented columns of the all-orders reports (the "order tracking" reports
# attributes page). Real files add or drop a few by marketplace and year (`url`, `cpf`,
# `number-of-items`, the VAT columns); the generator writes the documented list.
_ALL_ORDERS_COLUMNS = (
    "amazon-order-id merchant-order-id purchase-date last-updated-date order-status "
    "fulfillment-channel sales-channel order-channel ship-service-level product-name sku asin "
    "item-status quantity currency item-price item-tax shipping-price shipping-tax "
    "gift-wrap-price gift-wrap-tax item-promotion-discount ship-promotion-discount ship-city "
    "ship-state ship-postal-code ship-country promotion-ids is-business-order "
    "purchase-order-number price-designation"
).split()

COLUMNS: dict[str, list[str]] = {
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING": list(_MFN_EU_COLUMNS),
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING": list(_MFN_NA_COLUMNS),
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL": list(_FBA_SHIPMENT_COLUMNS),
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING": list(_FBA_SHIPMENT_COLUMNS),
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA": list(_RETURN_COLUMNS),
    "GET_AFN_INVENTORY_DATA": list(_AFN_INVENTORY_COLUMNS),
    "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT": list(_VIDR_COLUMNS),
    "SC_VAT_TAX_REPORT": list(_VCS_COLUMNS),
    "GET_VAT_TRANSACTION_DATA": list(_VAT_TRANSACTION_COLUMNS),
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL": list(_ALL_ORDERS_COLUMNS),
}
"""The header columns of every flat (TSV/CSV) report type, in file order."""


# Renderers: each returns (text, data row count).


def _in_mfn_report(order: Order, ctx: _Context) -> bool:
    # MFN order reports list orders once they are eligible for fulfillment (paid). Orders
    # cancelled while pending never get there; Pending ones are not there yet; one the buyer
    # cancelled after payment is there until it is cancelled, and gone from reports made after.
    return (
        order.fulfillment == "MFN"
        and order.status not in ("Pending", "Canceled")
        and ctx.covers(order.purchase_date)
    )


def _mfn_rows(ctx: _Context, region: str) -> list[dict[str, str]]:
    rows = []
    for order in ctx.orders():
        if not _in_mfn_report(order, ctx):
            continue
        for item in order.items:
            row = {
                "order-id": order.amazon_order_id,
                "order-item-id": item.order_item_id,
                "purchase-date": _iso(order.purchase_date, region),
                "payments-date": _iso(order.payments_date, region),
                "buyer-email": order.buyer_email,
                "buyer-name": order.buyer_name,
                "buyer-phone-number": order.buyer_phone,
                "sku": item.sku,
                "product-name": item.product_name,
                "quantity-purchased": str(item.quantity),
                "currency": order.currency,
                "item-price": _money(item.item_price),
                "item-tax": _money(item.item_tax),
                "shipping-price": _money(item.shipping_price),
                "shipping-tax": _money(item.shipping_tax),
                "ship-service-level": order.ship_service_level,
                "recipient-name": order.recipient_name,
                "ship-address-1": order.address_1,
                "ship-address-2": order.address_2,
                "ship-address-3": order.address_3,
                "ship-city": order.city,
                "ship-state": order.state,
                "ship-postal-code": order.postal_code,
                "ship-country": order.country_code,
                "ship-phone-number": order.ship_phone,
                "sales-channel": order.sales_channel,
            }
            if region == "eu":
                row |= {
                    "is-business-order": _bool(order.is_business_order),
                    "purchase-order-number": order.purchase_order_number,
                    "price-designation": "Business Price" if order.is_business_order else "",
                    "is-amazon-invoiced": "true",
                    "vat-exclusive-item-price": _money(item.item_price - item.item_tax),
                    "vat-exclusive-shipping-price": _money(item.shipping_price - item.shipping_tax),
                    "vat-exclusive-giftwrap-price": _money(
                        item.gift_wrap_price - item.gift_wrap_tax
                    ),
                }
            rows.append(row)
    return rows


def _render_mfn_invoicing(ctx: _Context) -> tuple[str, int]:
    return _tsv(_MFN_EU_COLUMNS, _mfn_rows(ctx, "eu"))


def _render_mfn_shipping(ctx: _Context) -> tuple[str, int]:
    return _tsv(_MFN_NA_COLUMNS, _mfn_rows(ctx, "na"))


def _render_mfn_xml(ctx: _Context) -> tuple[str, int]:
    """The MWS XML order report (``AmazonEnvelope`` of ``OrderReport`` messages).

    Shape based on the MWS OrderReport schema as quoted in public MWS client tests (Header,
    MessageType, Message/OrderReport with BillingData, FulfillmentData/Address and Item with
    ItemPrice components Principal/Shipping/Tax/ShippingTax); not checked against a real file.
    Gift wrap (components GiftWrap/GiftWrapTax), `Promotion` elements and the billing address
    (BillingData/Address) follow the same schema's names. Same selection as the flat report:
    MFN orders by purchase date, one message per order.
    """
    region = ctx.seller.region
    messages = []
    for order in ctx.orders():
        if not _in_mfn_report(order, ctx):
            continue
        messages.append(_order_xml(order, len(messages) + 1, region))
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">\n'
        "  <Header>\n"
        "    <DocumentVersion>1.01</DocumentVersion>\n"
        f"    <MerchantIdentifier>{escape(ctx.seller.selling_partner_id)}</MerchantIdentifier>\n"
        "  </Header>\n"
        "  <MessageType>OrderReport</MessageType>\n" + "".join(messages) + "</AmazonEnvelope>\n"
    )
    return text, len(messages)


def _el(indent: int, tag: str, value: str) -> str:
    return f"{'  ' * indent}<{tag}>{escape(value)}</{tag}>\n"


def _address_xml(order: Order, indent: int) -> str:
    parts = [
        _el(indent + 1, "Name", order.recipient_name),
        _el(indent + 1, "AddressFieldOne", order.address_1),
    ]
    if order.address_2:
        parts.append(_el(indent + 1, "AddressFieldTwo", order.address_2))
    parts += [
        _el(indent + 1, "City", order.city),
        _el(indent + 1, "StateOrRegion", order.state),
        _el(indent + 1, "PostalCode", order.postal_code),
        _el(indent + 1, "CountryCode", order.country_code),
        _el(indent + 1, "PhoneNumber", order.ship_phone),
    ]
    return f"{'  ' * indent}<Address>\n" + "".join(parts) + f"{'  ' * indent}</Address>\n"


def _order_xml(order: Order, message_id: int, region: str) -> str:
    currency = quoteattr(order.currency)
    items = []
    for item in order.items:
        components = "".join(
            "          <Component>\n"
            + _el(6, "Type", kind)
            + f"            <Amount currency={currency}>{_money(amount)}</Amount>\n"
            + "          </Component>\n"
            for kind, amount in (
                ("Principal", item.item_price),
                ("Shipping", item.shipping_price),
                ("Tax", item.item_tax),
                ("ShippingTax", item.shipping_tax),
                ("GiftWrap", item.gift_wrap_price),
                ("GiftWrapTax", item.gift_wrap_tax),
            )
        )
        promotions = "".join(
            "        <Promotion>\n"
            + _el(5, "MerchantPromotionID", promotion_id)
            + "          <Component>\n"
            + _el(6, "Type", kind)
            + f"            <Amount currency={currency}>{_money(amount)}</Amount>\n"
            + "          </Component>\n"
            + "        </Promotion>\n"
            for kind, amount, promotion_id in (
                ("Principal", item.item_promotion_discount, item.item_promotion_id),
                ("Shipping", item.ship_promotion_discount, item.ship_promotion_id),
            )
            if promotion_id
        )
        items.append(
            "      <Item>\n"
            + _el(4, "AmazonOrderItemCode", item.order_item_id)
            + _el(4, "SKU", item.sku)
            + _el(4, "Title", item.product_name)
            + _el(4, "Quantity", str(item.quantity))
            + _el(4, "ProductTaxCode", "A_GEN_STANDARD")
            + "        <ItemPrice>\n"
            + components
            + "        </ItemPrice>\n"
            + promotions
            + "      </Item>\n"
        )
    return (
        "  <Message>\n"
        + _el(2, "MessageID", str(message_id))
        + "    <OrderReport>\n"
        + _el(3, "AmazonOrderID", order.amazon_order_id)
        + _el(3, "AmazonSessionID", order.amazon_order_id)
        + _el(3, "OrderDate", _iso(order.purchase_date, region))
        + _el(3, "OrderPostedDate", _iso(order.payments_date, region))
        + "      <BillingData>\n"
        + _el(4, "BuyerEmailAddress", order.buyer_email)
        + _el(4, "BuyerName", order.buyer_name)
        + _el(4, "BuyerPhoneNumber", order.buyer_phone)
        + "        <Address>\n"
        + _el(5, "Name", order.billing_name)
        + _el(5, "AddressFieldOne", order.bill_address_1)
        + _el(5, "City", order.bill_city)
        + _el(5, "StateOrRegion", order.bill_state)
        + _el(5, "PostalCode", order.bill_postal_code)
        + _el(5, "CountryCode", order.bill_country_code)
        + "        </Address>\n"
        + "      </BillingData>\n"
        + "      <FulfillmentData>\n"
        + _el(4, "FulfillmentMethod", "Ship")
        + _el(4, "FulfillmentServiceLevel", order.ship_service_level)
        + _address_xml(order, 4)
        + "      </FulfillmentData>\n"
        + "".join(items)
        # Not in the MWS samples (UNVERIFIED); it lets an importer tell marketplaces apart.
        + _el(3, "SalesChannel", order.sales_channel)
        + "    </OrderReport>\n"
        + "  </Message>\n"
    )


def _shipped_items(ctx: _Context, *, afn_only: bool) -> list[tuple[Order, Shipment, ShipmentItem]]:
    """Every shipment item whose shipment date is in the range, in shipment-date order."""
    found = []
    for order in ctx.orders(lookback_days=_LOOKBACK_DAYS):
        if afn_only and order.fulfillment != "AFN":
            continue
        for shipment in order.shipments:
            if ctx.covers(shipment.shipment_date):
                found.extend((order, shipment, si) for si in shipment.items)
    found.sort(key=lambda t: (t[1].shipment_date, t[0].amazon_order_id, t[2].shipment_item_id))
    return found


def _returns(ctx: _Context) -> list[tuple[Order, Return]]:
    """Every return whose return date is in the range, in return-date order."""
    found = [
        (order, ret)
        for order in ctx.orders(lookback_days=_LOOKBACK_DAYS)
        for ret in order.returns
        if ctx.covers(ret.return_date)
    ]
    found.sort(key=lambda t: (t[1].return_date, t[1].return_id))
    return found


def _render_fba_shipments(ctx: _Context) -> tuple[str, int]:
    """FBA shipments, one row per shipment item.

    Buyer and address PII columns are empty, as in the real SP-API-era US 2020 file (these
    reports are not restricted); city, state, postal code and country are filled, for the
    ship-to and the bill-to address alike.
    """
    region = ctx.seller.region
    rows = []
    for order, shipment, shipment_item in _shipped_items(ctx, afn_only=True):
        item = order.item(shipment_item.order_item_id)
        share = shipment_item.quantity
        rows.append(
            {
                "amazon-order-id": order.amazon_order_id,
                "shipment-id": shipment.shipment_id,
                "shipment-item-id": shipment_item.shipment_item_id,
                "amazon-order-item-id": item.order_item_id,
                "purchase-date": _iso(order.purchase_date, region),
                "payments-date": _iso(order.payments_date, region),
                "shipment-date": _iso(shipment.shipment_date, region),
                "reporting-date": _iso(shipment.reporting_date, region),
                "buyer-email": order.buyer_email,
                "sku": item.sku,
                "product-name": item.product_name,
                "quantity-shipped": str(share),
                "currency": order.currency,
                "item-price": _money(_split(item.item_price, share, item.quantity)),
                "item-tax": _money(_split(item.item_tax, share, item.quantity)),
                "shipping-price": _money(_split(item.shipping_price, share, item.quantity)),
                "shipping-tax": _money(_split(item.shipping_tax, share, item.quantity)),
                "gift-wrap-price": _money(_split(item.gift_wrap_price, share, item.quantity)),
                "gift-wrap-tax": _money(_split(item.gift_wrap_tax, share, item.quantity)),
                "ship-service-level": order.ship_service_level,
                "ship-city": order.city,
                "ship-state": order.state,
                "ship-postal-code": order.postal_code,
                "ship-country": order.country_code,
                "bill-city": order.bill_city,
                "bill-state": order.bill_state,
                "bill-postal-code": order.bill_postal_code,
                "bill-country": order.bill_country_code,
                "item-promotion-discount": _money(
                    _split(item.item_promotion_discount, share, item.quantity)
                ),
                "ship-promotion-discount": _money(
                    _split(item.ship_promotion_discount, share, item.quantity)
                ),
                "carrier": shipment.carrier,
                "tracking-number": shipment.tracking_number,
                "estimated-arrival-date": _iso(shipment.estimated_arrival_date, region),
                "fulfillment-center-id": shipment.fulfillment_center_id,
                "fulfillment-channel": "AFN",
                "sales-channel": order.sales_channel,
            }
        )
    return _tsv(_FBA_SHIPMENT_COLUMNS, rows)


def _render_returns(ctx: _Context) -> tuple[str, int]:
    # The one real-looking returns row (US, 2025) uses +00:00 dates, so both regions do.
    rows = [
        {
            "return-date": _iso(ret.return_date, "eu"),
            "order-id": order.amazon_order_id,
            "sku": ret.sku,
            "asin": ret.asin,
            "fnsku": ret.fnsku,
            "product-name": ret.product_name,
            "quantity": str(ret.quantity),
            "fulfillment-center-id": ret.fulfillment_center_id,
            "detailed-disposition": ret.detailed_disposition,
            "reason": ret.reason,
            "status": ret.status,
            "license-plate-number": ret.license_plate_number,
            "customer-comments": ret.customer_comments,
        }
        for order, ret in _returns(ctx)
    ]
    return _tsv(_RETURN_COLUMNS, rows)


# The all-orders files' spelling of a status: British "Cancelled", as the real rows show;
# "Shipping" for an order partly shipped is our reading (UNVERIFIED).
_ALL_ORDERS_STATUS = {"PartiallyShipped": "Shipping", "Canceled": "Cancelled"}


def _render_all_orders_by_last_update(ctx: _Context) -> tuple[str, int]:
    """Every order whose last update lies in the range, one row per item, by last update.

    MFN and FBA orders of any status, without buyer data, as Amazon's order tracking report.
    The marketplace filter is ignored: Amazon reportedly lists the whole region. A cancelled
    line has quantity 0 and no currency or amounts, as in the real rows. Dates are UTC in both
    regions (the real US rows show ``+00:00``).
    """
    begin = ctx.start - timedelta(days=_LOOKBACK_DAYS)
    orders = sorted(
        (
            o
            for o in _history(ctx.seller, begin, ctx.end, ctx.now, ctx.added)
            if ctx.covers(o.last_updated)
        ),
        key=lambda o: (o.last_updated, o.amazon_order_id),
    )
    rows = []
    for order in orders:
        shipped_items = {si.order_item_id for s in order.shipments for si in s.items}
        status = _ALL_ORDERS_STATUS.get(order.status, order.status)
        for item in order.items:
            if order.cancelled:
                item_status, amounts = "Cancelled", {}
            else:
                item_status = "Shipped" if item.order_item_id in shipped_items else "Unshipped"
                amounts = {
                    "currency": order.currency,
                    "item-price": _money(item.item_price),
                    "item-tax": _money(item.item_tax),
                    "shipping-price": _money(item.shipping_price),
                    "shipping-tax": _money(item.shipping_tax),
                    "gift-wrap-price": _money(_ZERO),
                    "gift-wrap-tax": _money(_ZERO),
                    "item-promotion-discount": _money(_ZERO),
                    "ship-promotion-discount": _money(_ZERO),
                }
            rows.append(
                {
                    "amazon-order-id": order.amazon_order_id,
                    "purchase-date": _iso(order.purchase_date, "eu"),
                    "last-updated-date": _iso(order.last_updated, "eu"),
                    "order-status": status,
                    "fulfillment-channel": "Amazon" if order.fulfillment == "AFN" else "Merchant",
                    "sales-channel": order.sales_channel,
                    "ship-service-level": order.ship_service_level,
                    "product-name": item.product_name,
                    "sku": item.sku,
                    "asin": item.asin,
                    "item-status": item_status,
                    "quantity": "0" if order.cancelled else str(item.quantity),
                    **amounts,
                    "ship-city": order.city,
                    "ship-state": order.state,
                    "ship-postal-code": order.postal_code,
                    "ship-country": order.country_code,
                    "is-business-order": _bool(order.is_business_order),
                    "purchase-order-number": order.purchase_order_number,
                    "price-designation": "Business Price" if order.is_business_order else "",
                }
            )
    return _tsv(_ALL_ORDERS_COLUMNS, rows)


def _render_afn_inventory(ctx: _Context) -> tuple[str, int]:
    """Stock snapshot at ``now``: one SELLABLE row per FBA SKU, UNSELLABLE rows for some.

    Ignores the date range and the marketplace filter (FBA stock is pooled per region). The
    quantities change once a day.
    """
    rng = random.Random(f"{ctx.seller.seed}:stock:{ctx.now.astimezone(UTC).date().isoformat()}")
    rows = []
    fba = [p for p in _products(ctx.seller) if p.fulfillment == "AFN"]
    for index, product in enumerate(fba):
        conditions = [("SELLABLE", rng.randint(0, 250))]
        # The first SKU always has damaged units, so the snapshot always shows both conditions.
        if index == 0 or rng.random() < 0.4:
            conditions.append(("UNSELLABLE", rng.randint(1, 6)))
        for code, quantity in conditions:
            rows.append(
                {
                    "seller-sku": product.sku,
                    "fulfillment-channel-sku": product.fnsku,
                    "asin": product.asin,
                    "condition-type": "NewItem",
                    "Warehouse-Condition-code": code,
                    "Quantity Available": str(quantity),
                }
            )
    return _tsv(_AFN_INVENTORY_COLUMNS, rows)


def _seller_vat_number(seller: DemoSeller, country: str) -> str:
    rng = random.Random(f"{seller.seed}:vat:{country}")
    return f"{country}{_digits(rng, 9)}"


def _merchant_number(seller: DemoSeller) -> str:
    # The VCS report's "Merchant ID" is numeric, not the A... selling partner id.
    return _digits(random.Random(f"{seller.seed}:merchant"), 11)


def _ship_from(seller: DemoSeller, shipment: Shipment, country: str) -> tuple[str, str, str]:
    """(city, postal code, country) the parcel left from."""
    for code, city, postal, fc_country in _FULFILLMENT_CENTERS.get(country, ()):
        if code == shipment.fulfillment_center_id:
            return city, postal, fc_country
    return _SELLER_WAREHOUSES.get(seller.seed, _DEFAULT_WAREHOUSE)


@dataclass(frozen=True)
class _VatAmounts:
    """One VAT event's amounts (gross, VAT) per component: negative for a refund, which gives
    back neither shipping nor its promotion."""

    item: tuple[Decimal, Decimal]
    shipping: tuple[Decimal, Decimal]
    gift_wrap: tuple[Decimal, Decimal]
    item_promotion: tuple[Decimal, Decimal]
    ship_promotion: tuple[Decimal, Decimal]


def _vat_amounts(item: OrderItem, quantity: int, ret: Return | None) -> _VatAmounts:
    sign = Decimal(1) if ret is None else Decimal(-1)

    def part(gross: Decimal, tax: Decimal, *, refunded: bool = True) -> tuple[Decimal, Decimal]:
        if ret is not None and not refunded:
            return _ZERO, _ZERO
        return (
            sign * _split(gross, quantity, item.quantity),
            sign * _split(tax, quantity, item.quantity),
        )

    return _VatAmounts(
        item=part(item.item_price, item.item_tax),
        shipping=part(item.shipping_price, item.shipping_tax, refunded=False),
        gift_wrap=part(item.gift_wrap_price, item.gift_wrap_tax),
        item_promotion=part(item.item_promotion_discount, item.item_promotion_tax),
        ship_promotion=part(item.ship_promotion_discount, item.ship_promotion_tax, refunded=False),
    )


def _vat_events(
    ctx: _Context,
) -> list[tuple[str, Order, Shipment, OrderItem, int, Return | None]]:
    """Sales (one per shipped item, by shipment date) then refunds (by return date)."""
    events: list[tuple[str, Order, Shipment, OrderItem, int, Return | None]] = []
    for order, shipment, shipment_item in _shipped_items(ctx, afn_only=False):
        item = order.item(shipment_item.order_item_id)
        events.append(("SHIPMENT", order, shipment, item, shipment_item.quantity, None))
    for order, ret in _returns(ctx):
        shipment = next(s for s in order.shipments if s.shipment_id == ret.shipment_id)
        events.append(("RETURN", order, shipment, order.item(ret.order_item_id), ret.quantity, ret))
    return events


def _amazon_invoices(seller: DemoSeller, order: Order) -> bool:
    """Whether Amazon issues the VAT invoices of this order (see `DemoSeller.vat_invoicing`)."""
    return seller.vat_invoicing == "vcs" or order.is_business_order


def _render_vidr(ctx: _Context) -> tuple[str, int]:
    """VIDR: the data a VCS-Lite seller needs to issue invoices and credit notes itself.

    Invoices the seller must issue are "InvoicePending", without a number. Lines Amazon
    invoices (`_amazon_invoices`) are `is-amazon-invoiced` and carry Amazon's number, the one
    the VCS report lists. Returns appear as REFUND rows with negative amounts.
    """
    rows = []
    for kind, order, shipment, item, quantity, ret in _vat_events(ctx):
        by_amazon = _amazon_invoices(ctx.seller, order)
        amazon_number = shipment.invoice_number if ret is None else ret.credit_note_number
        vat = _vat_amounts(item, quantity, ret)
        rate = f"{item.vat_rate:.2f}"
        amounts = {}
        for prefix, (incl, amount) in (
            ("item", vat.item),
            ("shipping", vat.shipping),
            ("gift-wrap", vat.gift_wrap),
            ("item-promo", vat.item_promotion),
            ("shipping-promo", vat.ship_promotion),
        ):
            amounts |= {
                f"{prefix}-vat-incl-amount": _money(incl),
                f"{prefix}-vat-amount": _money(amount),
                f"{prefix}-vat-excl-amount": _money(incl - amount),
                f"{prefix}-vat-rate": rate,
            }
        from_city, from_postal, from_country = _ship_from(ctx.seller, shipment, order.country_code)
        rows.append(
            {
                "marketplace-id": order.marketplace_id,
                "order-id": order.amazon_order_id,
                "order-item-id": item.order_item_id,
                "shipping-id": shipment.shipment_id,
                "transaction-id": shipment.shipment_id if ret is None else ret.return_id,
                "transaction-type": "SHIPMENT" if kind == "SHIPMENT" else "REFUND",
                "invoice-number": amazon_number if by_amazon else "",
                "invoice-status": "" if by_amazon else "InvoicePending",
                "invoice-status-description": "",
                "is-amazon-invoiced": _bool(by_amazon),
                "order-date": _iso(order.purchase_date, "eu"),
                "shipment-date": _iso(
                    shipment.shipment_date if ret is None else ret.return_date, "eu"
                ),
                "buyer-vat-number": order.buyer_vat_number,
                "seller-vat-number": _seller_vat_number(ctx.seller, order.country_code),
                "asin": item.asin,
                "sku": item.sku,
                "product-name": item.product_name,
                "quantity-purchased": str(quantity),
                "currency": order.currency,
                **amounts,
                "item-promotion-id": item.item_promotion_id,
                "ship-promotion-id": item.ship_promotion_id if ret is None else "",
                "is-business-order": _bool(order.is_business_order),
                "price-designation": "Business Price" if order.is_business_order else "",
                "purchase-order-number": order.purchase_order_number,
                "recipient-name": order.recipient_name,
                "ship-service-level": order.ship_service_level,
                "fulfilled-by": "Amazon" if order.fulfillment == "AFN" else "Merchant",
                "ship-address-1": order.address_1,
                "ship-address-2": order.address_2,
                "ship-address-3": order.address_3,
                "ship-city": order.city,
                "ship-state": order.state,
                "ship-postal-code": order.postal_code,
                "ship-country": order.country_code,
                "ship-phone-number": order.ship_phone,
                "ship-from-country": from_country,
                "ship-from-city": from_city,
                "ship-from-postal-code": from_postal,
                "billing-name": order.billing_name,
                "bill-address-1": order.bill_address_1,
                "bill-city": order.bill_city,
                "bill-state": order.bill_state,
                "bill-postal-code": order.bill_postal_code,
                "bill-country": order.bill_country_code,
                "billing-phone-number": order.buyer_phone,
                "buyer-name": order.buyer_name,
                "buyer-company-name": order.buyer_company_name,
                "recommended-invoice-format": "PDF",
                "buyer-tax-registration-type": "VAT" if order.buyer_vat_number else "",
                "is-buyer-physically-present": "false",
                "is-seller-physically-present": "false",
                "export-outside-eu": "false",
                "is-invoice-corrected": "false",
                "original-vat-invoice-number": (
                    shipment.invoice_number if by_amazon and ret is not None else ""
                ),
            }
        )
    return _tsv(_VIDR_COLUMNS, rows)


# Columns the real VCS file quotes even when the value has no space or comma.
_VCS_ALWAYS_QUOTED = frozenset(
    {"Order Date", "Shipment Date", "Tax Calculation Date", "VAT Invoice Number", "Invoice Url"}
)


def _csv_field(value: str, *, force: bool = False) -> str:
    """Quote like the VCS sample: only values with spaces or special characters (or dates,
    invoice numbers and URLs) are quoted; quotes inside are doubled."""
    needs = force or any(c in value for c in ' ,"\r\n') or not value.isascii()
    if needs and value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _render_vcs(ctx: _Context) -> tuple[str, int]:
    """The VAT Calculation Report: one SHIPMENT row per shipped item, RETURN rows for returns.

    Comma-separated with CRLF line ends and ``27-Nov-2021 UTC`` dates, as the real sample.
    RETURN rows carry negative amounts, a credit-note number and the original invoice number.
    Rows of orders Amazon does not invoice (`_amazon_invoices`) are "Is Amazon Invoiced"
    false, without a number or link: the seller issues those.
    """
    merchant = _merchant_number(ctx.seller)
    lines = [",".join(_csv_field(c) for c in _VCS_COLUMNS)]
    for kind, order, shipment, item, quantity, ret in _vat_events(ctx):
        by_amazon = _amazon_invoices(ctx.seller, order)
        vat = _vat_amounts(item, quantity, ret)
        from_city, from_postal, from_country = _ship_from(ctx.seller, shipment, order.country_code)
        amounts = {}
        for component, (incl, amount), (promo, promo_tax) in (
            ("OUR_PRICE", vat.item, vat.item_promotion),
            ("SHIPPING", vat.shipping, vat.ship_promotion),
            ("GIFTWRAP", vat.gift_wrap, (_ZERO, _ZERO)),
        ):
            amounts |= {
                f"{component} Tax Inclusive Selling Price": _money(incl),
                f"{component} Tax Amount": _money(amount),
                f"{component} Tax Exclusive Selling Price": _money(incl - amount),
                f"{component} Tax Inclusive Promo Amount": _money(promo),
                f"{component} Tax Amount Promo": _money(promo_tax),
                f"{component} Tax Exclusive Promo Amount": _money(promo - promo_tax),
            }
        row = {
            "Marketplace ID": order.country_code,
            "Merchant ID": merchant,
            "Order Date": _vcs_date(order.purchase_date),
            "Transaction Type": kind,
            "Is Invoice Corrected": "FALSE",
            "Order ID": order.amazon_order_id,
            "Shipment Date": _vcs_date(shipment.shipment_date),
            "Shipment ID": shipment.shipment_id,
            "Transaction ID": shipment.shipment_id if ret is None else ret.return_id,
            "ASIN": item.asin,
            "SKU": item.sku,
            "Quantity": str(quantity),
            "Tax Calculation Date": _vcs_date(
                order.purchase_date if ret is None else ret.return_date
            ),
            "Tax Rate": f"{item.vat_rate:.4f}",
            "Product Tax Code": "A_GEN_STANDARD",
            "Currency": order.currency,
            "Tax Type": "VAT",
            "Tax Calculation Reason Code": "Taxable",
            "Tax Collection Responsibility": "Seller",
            "Tax Address Role": "ShipTo",
            "Jurisdiction Level": "Country",
            "Jurisdiction Name": _JURISDICTION.get(order.country_code, order.country_code),
            **amounts,
            "Seller Tax Registration": _seller_vat_number(ctx.seller, order.country_code),
            "Seller Tax Registration Jurisdiction": order.country_code,
            "Buyer Tax Registration": order.buyer_vat_number,
            "Buyer Tax Registration Jurisdiction": (
                order.country_code if order.buyer_vat_number else ""
            ),
            "Buyer Tax Registration Type": "VAT" if order.buyer_vat_number else "",
            "Invoice Level Exchange Rate": "0.0000",
            "Converted Tax Amount": _money(_ZERO),
            "VAT Invoice Number": (
                ""
                if not by_amazon
                else shipment.invoice_number
                if ret is None
                else ret.credit_note_number
            ),
            "Invoice Url": shipment.invoice_url if by_amazon else "",
            "Export Outside EU": "false",
            "Ship From City": from_city,
            "Ship From Country": from_country,
            "Ship From Postal Code": from_postal,
            "Ship To City": order.city,
            "Ship To State": order.state,
            "Ship To Country": order.country_code,
            "Ship To Postal Code": order.postal_code,
            "Return Fc Country": from_country if ret is not None else "",
            "Is Amazon Invoiced": _bool(by_amazon),
            "Original VAT Invoice Number": (
                shipment.invoice_number if by_amazon and ret is not None else ""
            ),
        }
        lines.append(
            ",".join(
                _csv_field(row.get(c, ""), force=c in _VCS_ALWAYS_QUOTED) for c in _VCS_COLUMNS
            )
        )
    return _CRLF.join(lines) + _CRLF, len(lines) - 1


def _render_vat_transactions(ctx: _Context) -> tuple[str, int]:
    """Minimal Amazon VAT Transactions report: SALE and RETURN rows in the documented columns."""
    rows = []
    for kind, order, shipment, item, quantity, ret in _vat_events(ctx):
        moment = shipment.shipment_date if ret is None else ret.return_date
        sign = Decimal(1) if ret is None else Decimal(-1)
        gross = sign * _split(item.item_price, quantity, item.quantity)
        tax = sign * _split(item.item_tax, quantity, item.quantity)
        rows.append(
            {
                "UNIQUE_ACCOUNT_IDENTIFIER": ctx.seller.selling_partner_id,
                "ACTIVITY_PERIOD": f"{moment.year}-{_MONTHS[moment.month - 1].upper()}",
                "SALES_CHANNEL": order.fulfillment,
                "MARKETPLACE": order.sales_channel.lower(),
                "PROGRAM_TYPE": "REGULAR",
                "TRANSACTION_TYPE": "SALE" if kind == "SHIPMENT" else "RETURN",
                "TRANSACTION_EVENT_ID": order.amazon_order_id,
                "ACTIVITY_TRANSACTION_ID": shipment.shipment_id if ret is None else ret.return_id,
                "TAX_CALCULATION_DATE": moment.astimezone(UTC).strftime("%d-%m-%Y"),
                "TRANSACTION_DEPART_DATE": shipment.shipment_date.astimezone(UTC).strftime(
                    "%d-%m-%Y"
                ),
                "TRANSACTION_ARRIVAL_DATE": shipment.estimated_arrival_date.strftime("%d-%m-%Y"),
                "TRANSACTION_COMPLETE_DATE": moment.astimezone(UTC).strftime("%d-%m-%Y"),
                "SELLER_SKU": item.sku,
                "ASIN": item.asin,
                "ITEM_DESCRIPTION": item.product_name,
                "ITEM_MANUFACTURE_COUNTRY": "DE",
                "QTY": str(quantity),
                "ITEM_WEIGHT": "0.45",
                "TOTAL_ACTIVITY_WEIGHT": f"{Decimal('0.45') * quantity:.2f}",
                "PRICE_OF_ITEMS_AMT_VAT_EXCL": _money(gross - tax),
            }
        )
    return _tsv(_VAT_TRANSACTION_COLUMNS, rows)


_RENDERERS: dict[str, Callable[[_Context], tuple[str, int]]] = {
    "GET_AFN_INVENTORY_DATA": _render_afn_inventory,
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA": _render_returns,
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING": _render_fba_shipments,
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL": _render_fba_shipments,
    "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT": _render_vidr,
    "SC_VAT_TAX_REPORT": _render_vcs,
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING": _render_mfn_invoicing,
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING": _render_mfn_shipping,
    "GET_ORDER_REPORT_DATA_INVOICING": _render_mfn_xml,
    "GET_ORDER_REPORT_DATA_SHIPPING": _render_mfn_xml,
    "GET_VAT_TRANSACTION_DATA": _render_vat_transactions,
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL": _render_all_orders_by_last_update,
}
