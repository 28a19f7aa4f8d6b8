"""English formats: one per kind, unambiguous (ISO dates, a 24-hour clock), as Amazon's
reports and Seller Central's downloads write them. Only the letters `core.templatetags.moments`
translates (Y m d H i s) are used, so its fast filters print exactly what `date` prints."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SECONDS_DATETIME_FORMAT = "Y-m-d H:i:s"
TIME_FORMAT = "H:i:s"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
MONTH_DAY_FORMAT = "j M"
# The forms' date inputs are the browser's (type="date" / "datetime-local"): they send and
# need ISO values, so ISO comes first; what a person types by hand is also understood.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
]
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
