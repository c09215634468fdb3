"""CSV exports that open safely in a spreadsheet: no text cell can start a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TextIO

# What makes Excel, LibreOffice or Google Sheets read a cell as a formula (or a DDE call).
FORMULA_STARTS = ("=", "+", "-", "@")
# Spreadsheets skip these before looking for the formula sign.
LEADING_BLANKS = " \t\r\n"


def cell(value: object) -> object:
    """A value as the CSV shows it: figures as they are, text quoted with `'` when a
    spreadsheet would run it."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value  # a negative figure is a number, not a formula
    text = str(value)
    if text[:1] in ("\t", "\r") or text.lstrip(LEADING_BLANKS)[:1] in FORMULA_STARTS:
        return "'" + text
    return text


class SpreadsheetWriter:
    """csv.writer with every cell passed through `cell`."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, lineterminator="\r\n")

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([cell(value) for value in row])


def csv_text(header: Sequence[str], rows: Iterable[Iterable[object]]) -> str:
    """A whole CSV document: the header row, then the rows."""
    buffer = io.StringIO()
    writer = SpreadsheetWriter(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()
