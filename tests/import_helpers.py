"""Spreadsheets for the import tests and the benchmark: valid pupils, as
xlsx or csv, headed with the student schema's titles."""
import csv
import datetime
import io

from openpyxl import Workbook
from stdnum.cn import ric

from .conftest import RECORD_FORM

CLASS = "班级"


def titles():
    """field name → header title, from the (unbound) student schema."""
    from xueji_site.schemas.student import student_schema
    schema = student_schema(None, None, True)
    return {node.name: str(node.title) for node in schema.children if node.name != "csrf_token"}


def resident_id(county, born, sequence):
    body = "%s%s%03d" % (county, born.strftime("%Y%m%d"), sequence)
    return body + ric.calc_check_digit(body + "0")


def pupils(count, county="110105", klass="2024-03", start=0):
    """``count`` valid records (field name → value), distinct ID numbers."""
    rows = []
    for i in range(start, start + count):
        born = datetime.date(2017, 1, 1) + datetime.timedelta(days=i % 360)
        gender = "1" if i % 2 else "2"
        number = resident_id(county, born, (i // 360) * 2 % 1000 + (1 if gender == "1" else 0))
        rows.append(dict(RECORD_FORM, name="学生" + "甲乙丙丁戊己庚辛壬癸"[i % 10] + "一二三四五"[i // 10 % 5],
                         gender=gender, birth_date=born, ethnicity="01", id_type="1",
                         id_number=number, **{CLASS: klass}))
    return rows


def _header(records):
    names = list(records[0]) if records else []
    shown = titles()
    return names, [shown.get(n, n) for n in names]


def xlsx_bytes(records, header=None):
    names, heads = _header(records)
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(header or heads)
    for record in records:
        sheet.append([record.get(n) for n in names])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(records, encoding="utf-8-sig"):
    names, heads = _header(records)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(heads)
    for record in records:
        writer.writerow([record[n].isoformat() if isinstance(record[n], datetime.date) else record[n]
                         for n in names])
    return text.getvalue().encode(encoding)
