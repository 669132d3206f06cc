"""Tables out of the system: cells for display, and csv/xlsx downloads.

Exports escape cells that a spreadsheet would run as formulas (a leading
= + - @, tab or carriage return gets a ' in front). Numbers (int, float) are
written as numbers: numeric cells in xlsx, so that sums and sorting work.
"""
import csv
import datetime
import io

from openpyxl import Workbook

from xueji_site.kernel.spreadsheets import discard_temporary_files
from pyramid.response import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value, translate):
    if value is None:
        return ""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if hasattr(value, "interpolate"):  # a TranslationString
        return translate(value)
    return str(value)


def value_cell(value, translate):
    """A cell for an export: numbers stay numbers (numeric cells in xlsx), the rest as ``cell``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return cell(value, translate)


def defuse(value):
    """A string cell a spreadsheet would run as a formula gets a ' in front;
    numbers are written as numbers and need nothing."""
    if not isinstance(value, str):
        return value
    return "'" + value if value.startswith(FORMULA_START) else value


def _cell_out(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return defuse(value if isinstance(value, str) else ("" if value is None else str(value)))


def download(rows, header, filename, fmt):
    """A Response with ``rows`` as csv (UTF-8 with BOM, for Excel) or xlsx."""
    if fmt == "xlsx":
        book = Workbook(write_only=True)
        try:
            sheet = book.create_sheet()
            sheet.append([_cell_out(h) for h in header])
            for row in rows:
                sheet.append([_cell_out(c) for c in row])
            body = io.BytesIO()
            book.save(body)
        finally:  # the sheet streams through a temp file of clear rows: never leave it behind
            discard_temporary_files(book)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        payload = body.getvalue()
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow([_cell_out(h) for h in header])
        for row in rows:
            writer.writerow([_cell_out(c) for c in row])
        payload = ("\ufeff" + text.getvalue()).encode("utf-8")
        content_type = "text/csv"
        fmt = "csv"
    response = Response(body=payload, content_type=content_type)
    response.content_disposition = 'attachment; filename="%s.%s"' % (filename, fmt)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "no-store"
    return response
