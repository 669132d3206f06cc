"""Tables out of the system: cells for display, and csv/xlsx downloads.

Exports escape cells that a spreadsheet would run as formulas (a leading
= + - @, tab or carriage return gets a ' in front). Numbers (int, float) are
written as numbers: numeric cells in xlsx, so that sums and sorting work.
"""
import datetime


from xueji_site.kernel.spreadsheets import FORMULA_START, defuse, table_file  # noqa: F401
from pyramid.response import Response



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


def download(rows, header, filename, fmt):
    """A Response with ``rows`` as csv (UTF-8 with BOM, for Excel) or xlsx (kernel/spreadsheets.py)."""
    payload, content_type, fmt = table_file(rows, header, fmt)
    response = Response(body=payload, content_type=content_type)
    response.content_disposition = 'attachment; filename="%s.%s"' % (filename, fmt)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "no-store"
    return response
