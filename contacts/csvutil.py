"""CSV files Lifecycle hands out (failed import rows, contact exports): streamed, and safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return) is a formula to Excel,
LibreOffice and Google Sheets: a contact named `=HYPERLINK("https://evil.example", "Click")` would
run as one when the file is opened. `safe_cell` puts an apostrophe in front of such text, which
spreadsheets show as plain text (OWASP "CSV injection"). Numbers stored as numbers are left alone:
-5 is a value, not a formula.

    return StreamingHttpResponse(csv_stream(rows, bom=True), content_type="text/csv; charset=utf-8")
"""

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal

__all__ = ["FORMULA_STARTS", "csv_stream", "safe_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str | int | float | Decimal:
    """`value` as a CSV cell that a spreadsheet will never evaluate. None becomes an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write() returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_stream(rows: Iterable[Iterable], *, bom: bool = False) -> Iterator[str]:
    """One CSV line at a time, every cell passed through `safe_cell`; for a StreamingHttpResponse.

    `bom` starts the file with a UTF-8 byte order mark, so Excel reads accented names correctly.
    """
    writer = csv.writer(_Echo())
    if bom:
        yield "\ufeff"
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])
