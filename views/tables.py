"""Tables out of the system: cells for display, and csv/xlsx downloads.

Exports escape cells that a spreadsheet would run as formulas (a leading
= + - @, tab or carriage return gets a ' in front).
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


def defuse(text):
    return "'" + text if text.startswith(FORMULA_START) else text


def download(rows, header, filename, fmt):
    """A Response with ``rows`` as csv (UTF-8 with BOM, for Excel) or xlsx."""
    if fmt == "xlsx":
        book = Workbook(write_only=True)
        try:
            sheet = book.create_sheet()
            sheet.append([defuse(h) for h in header])
            for row in rows:
                sheet.append([defuse(c) for c in row])
            body = io.BytesIO()
            book.save(body)
        finally:  # the sheet streams through a temp file of clear rows: never leave it behind
            discard_temporary_files(book)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        payload = body.getvalue()
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow([defuse(h) for h in header])
        for row in rows:
            writer.writerow([defuse(c) for c in row])
        payload = ("\ufeff" + text.getvalue()).encode("utf-8")
        content_type = "text/csv"
        fmt = "csv"
    response = Response(body=payload, content_type=content_type)
    response.content_disposition = 'attachment; filename="%s.%s"' % (filename, fmt)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "no-store"
    return response
