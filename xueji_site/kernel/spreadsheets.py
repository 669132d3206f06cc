"""Reading uploaded tables safely, and writing xlsx files back.

An upload is sniffed by its bytes, not its name: a zip (xlsx) is checked with
``zipfile`` for absurd sizes and compression ratios *before* openpyxl opens
it (a zip bomb never gets inflated), and openpyxl parses with defusedxml when
that is installed (it is a dependency), so entity expansion ("billion
laughs") raises instead of eating memory. CSV is decoded as UTF-8 (with or
without BOM), falling back to GB18030, which is what Excel on a Chinese
Windows writes.
"""
import csv
import datetime
import io
import os
import zipfile
from dataclasses import dataclass

from openpyxl import Workbook

from xueji_site.kernel.i18n import _

@dataclass
class Limits:
    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 20_000
    max_columns: int = 200
    max_unzipped: int = 300 * 1024 * 1024  # all members of an xlsx together
    max_ratio: int = 120                   # uncompressed / compressed, per member
    max_members: int = 1000


class Rejected(Exception):
    """The file as a whole cannot be used; ``message`` is a TranslationString."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass
class Table:
    """A sniffed, size-checked upload: ``rows()`` may be called more than once."""

    data: bytes
    kind: str  # "xlsx" or "csv"
    limits: Limits

    def rows(self):
        """The header row, then each data row, as lists of cell values."""
        reader = _xlsx_rows if self.kind == "xlsx" else _csv_rows
        count = 0
        for row in reader(self.data):
            if len(row) > self.limits.max_columns:
                raise Rejected(_("列数过多（最多 ${n} 列）", mapping={"n": self.limits.max_columns}))
            if count > self.limits.max_rows:
                raise Rejected(_("行数过多（每个文件最多 ${n} 行）", mapping={"n": self.limits.max_rows}))
            count += 1
            yield row


def open_table(data, limits=None):
    """A Table for ``data`` (bytes), or Rejected with the reason."""
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise Rejected(_("文件过大（最大 ${mb} MB）", mapping={"mb": limits.max_bytes // (1024 * 1024)}))
    if not data.strip():
        raise Rejected(_("文件是空的"))
    if data[:4] == b"PK\x03\x04":
        _check_zip(data, limits)
        table = Table(data, "xlsx", limits)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Rejected(_("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV"))
    else:
        _check_text(data)
        table = Table(data, "csv", limits)
    _first_row(table)
    return table


def _check_zip(data, limits):
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Rejected(_("不是有效的 Excel（.xlsx）文件"))
    if len(members) > limits.max_members:
        raise Rejected(_("不是有效的 Excel（.xlsx）文件"))
    total = 0
    for info in members:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > limits.max_unzipped or (info.file_size > 1024 * 1024 and ratio > limits.max_ratio):
            raise Rejected(_("文件解压后过大，已拒绝（疑似压缩炸弹）"))


def _check_text(data):
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"\0" in data[:65536] or head.startswith((b"<!doctype", b"<html", b"<?xml", b"<script")):
        raise Rejected(_("文件格式无法识别：请上传 .xlsx 或 CSV 文件"))


def _first_row(table):
    """Read the header now, so a broken file is refused at upload, not later."""
    try:
        for _row in table.rows():
            return
    except Rejected:
        raise
    except Exception:  # openpyxl and defusedxml raise many kinds; all mean "unreadable"
        raise Rejected(_("文件无法读取：内容已损坏或含有不允许的结构"))
    raise Rejected(_("文件是空的"))


def decode_text(data):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise Rejected(_("无法识别文件编码：请使用 UTF-8 或 GB18030（GBK）"))


def _csv_rows(data):
    text = decode_text(data)
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            yield row
    except csv.Error:
        raise Rejected(_("CSV 文件格式不正确"))


def _xlsx_rows(data):
    from openpyxl import load_workbook
    # data_only=False: a formula arrives as its text ("=HYPERLINK(…)") and is
    # refused by the field's validation, instead of as a cached result.
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def read_rows(table):
    """``table.rows()`` with every reader failure turned into Rejected."""
    try:
        yield from table.rows()
    except Rejected:
        raise
    except Exception:
        raise Rejected(_("文件无法读取：内容已损坏或含有不允许的结构"))


# -- writing -------------------------------------------------------------------

def text_of(value):
    """A cell value as text for a report (dates as YYYY-MM-DD)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        return value.date().isoformat()
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def xlsx_bytes(book):
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def discard_temporary_files(book):
    """Close and delete each write-only sheet's temporary file that still exists
    (saving the book deletes them; an abandoned book does not)."""
    for sheet in book.worksheets:
        writer = getattr(sheet, "_writer", None)  # openpyxl makes it at the first append
        path = getattr(writer, "out", None)
        if not isinstance(path, str) or not os.path.exists(path):
            continue
        try:
            if not sheet.closed:
                sheet.close()  # flushes and closes the file handle
        except Exception:  # a half-written sheet may not close cleanly: the file goes anyway
            pass
        writer.cleanup()


# Exports escape cells that a spreadsheet would run as formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def table_file(rows, header, fmt):
    """(bytes, content type, format) of ``rows`` under ``header``: xlsx (numbers stay
    numeric cells), or csv in UTF-8 with a BOM (what Excel opens), formulas defused."""
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
        return body.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([_cell_out(h) for h in header])
    for row in rows:
        writer.writerow([_cell_out(c) for c in row])
    return ("\ufeff" + text.getvalue()).encode("utf-8"), "text/csv", "csv"
