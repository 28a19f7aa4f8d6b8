"""Which importer reads which Amazon report type: the pipeline's one entry point into orders.

`get_importer(report_type)` answers the importer for every report type of the catalogue
(`reports.catalog.BY_REPORT_TYPE`; a test keeps the two in step) and raises UnknownReportType
for anything else.
"""

from __future__ import annotations

from orders.importers.base import Importer
from orders.importers.fba import FbaReturnsImporter, FbaShipmentsImporter
from orders.importers.mfn import MfnFlatImporter, MfnXmlImporter
from orders.importers.statuses import OrderStatusImporter
from orders.importers.stock import AfnStockImporter
from orders.importers.vcs import VcsImporter, VcsLiteImporter


class UnknownReportType(KeyError):
    """No importer reads this report type."""


_IMPORTERS: tuple[Importer, ...] = (
    MfnFlatImporter(),
    MfnXmlImporter(),
    FbaShipmentsImporter(),
    FbaReturnsImporter(),
    AfnStockImporter(),
    VcsLiteImporter(),
    VcsImporter(),
    OrderStatusImporter(),
)

IMPORTERS: dict[str, Importer] = {
    report_type: importer for importer in _IMPORTERS for report_type in importer.report_types
}


def get_importer(report_type: str) -> Importer:
    """The importer for `report_type`. Raises UnknownReportType (a KeyError)."""
    try:
        return IMPORTERS[report_type]
    except KeyError:
        raise UnknownReportType(report_type) from None
