"""The texts the importers store for people to read later (why a row was not imported, why a
stock report is held), registered with `core.stored_texts` so that the report pages show them
in their reader's language. What is stored stays English; the values in them (a column's name,
the cell as the file has it) stay as they were."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from core.stored_texts import register, stored_text

__all__ = ["stored_text"]

NOT_A_DATE = gettext_noop("%(column)s: %(value)s is not a date")
NOT_A_NUMBER = gettext_noop("%(column)s: %(value)s is not a number")
TOO_MUCH_MONEY = gettext_noop("%(column)s: %(value)s is more than any amount Amazon reports")
NOT_WHOLE_UNITS = gettext_noop("%(column)s: %(value)s is not a whole number of units")
TOO_MANY_UNITS = gettext_noop("%(column)s: %(value)s is more units than any order holds")
EMPTY = gettext_noop("%(column)s is empty")
TOO_LONG = gettext_noop("%(column)s is %(length)s characters long; at most %(max_length)s fit")
SCIENTIFIC = gettext_noop(
    "%(column)s: %(value)s is in scientific notation (the file went through a spreadsheet and "
    "lost digits)"
)
NOT_AN_ORDER_ID = gettext_noop(
    "%(column)s: %(value)s is not an Amazon order ID (like 123-1234567-1234567)"
)
NOT_A_STATUS = gettext_noop("%(column)s: %(value)s is not a status")
NOT_A_KNOWN_STATUS = gettext_noop("%(column)s: %(value)s is not a status we know")
# A row's problem keeps its whole order out of the import.
ORDER_SKIPPED = gettext_noop("%(problem)s (order %(order_id)s skipped)")
NO_ORDER_REPORT = gettext_noop("the message has no OrderReport")
NOT_A_TRANSACTION_TYPE = gettext_noop(
    "transaction type %(value)s is not SHIPMENT, RETURN or REFUND"
)
NOT_A_VAT_RATE = gettext_noop("%(column)s: %(value)s is not a VAT rate")
NOT_A_WEB_ADDRESS = gettext_noop("%(column)s: %(value)s is not a web address")
STOCK_UNITS_DROP = gettext_noop(
    "The stock report has %(units)s units, less than %(share)s of the previous report's "
    "%(previous)s. Confirm to import it anyway."
)
STOCK_ROWS_DROP = gettext_noop(
    "The stock report has %(rows)s rows, less than %(share)s of the previous report's "
    "%(previous)s. Confirm to import it anyway."
)
# Why an invoice we issued was cancelled (`services.vat_transactions`), kept on the invoice and
# shown on its page, its print and PDF and the export in the reader's language.
AMAZON_ISSUED_SALE = gettext_noop("Amazon issued %(number)s for the same sale (VCS).")
AMAZON_ISSUED_REFUND = gettext_noop("Amazon issued %(number)s for the same refund (VCS).")
VCS_LITE_SALE = gettext_noop("Amazon's VCS Lite data marks this sale as invoiced by Amazon.")
VCS_LITE_REFUND = gettext_noop("Amazon's VCS Lite data marks this refund as invoiced by Amazon.")
# The audit log's line for a cancelled invoice (`services.vat_transactions.cancel_invoices`).
INVOICE_CANCELLED = gettext_noop("%(kind)s %(number)s cancelled: %(reason)s Found by %(trigger)s.")

register(
    SCIENTIFIC,
    NOT_AN_ORDER_ID,
    TOO_MUCH_MONEY,
    NOT_WHOLE_UNITS,
    TOO_MANY_UNITS,
    NOT_A_KNOWN_STATUS,
    NOT_A_STATUS,
    NOT_A_DATE,
    NOT_A_NUMBER,
    NOT_A_VAT_RATE,
    NOT_A_WEB_ADDRESS,
    TOO_LONG,
    EMPTY,
    NO_ORDER_REPORT,
    NOT_A_TRANSACTION_TYPE,
    ORDER_SKIPPED,
    STOCK_UNITS_DROP,
    STOCK_ROWS_DROP,
    INVOICE_CANCELLED,
    AMAZON_ISSUED_SALE,
    AMAZON_ISSUED_REFUND,
    VCS_LITE_SALE,
    VCS_LITE_REFUND,
)
