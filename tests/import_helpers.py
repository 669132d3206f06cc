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


# -- the national system's layout ---------------------------------------------------------
# Headers as the national student-information sheet (全国中小学生学籍信息管理系统) has them,
# in its order, including columns the registry does not keep (姓名拼音, 年级, 主页地址, 成员1…).

NATIONAL_HEADER = [
    "姓名", "性别", "出生日期", "出生地", "籍贯", "民族", "国籍/地区", "身份证件类型", "身份证件号",
    "港澳台侨外", "政治面貌", "健康状况", "姓名拼音", "曾用名", "身份证件有效期", "户口所在地", "户口性质",
    "特长", "学籍辅号", "班内学号", "年级", "班级", "入学年月", "入学方式", "就读方式", "学生来源", "现住址",
    "通信地址", "家庭住址", "联系电话", "邮政编码", "电子信箱", "主页地址", "是否独生子女",
    "是否受过学前教育", "是否留守儿童", "是否进城务工人员随迁子女", "是否孤儿", "是否烈士或优抚子女",
    "随班就读", "残疾类型", "是否由政府购买学位", "是否需要申请资助", "是否享受一补", "上下学距离",
    "上下学方式", "是否需要乘坐校车", "成员1姓名", "成员1关系", "成员1是否监护人", "成员1联系电话",
]
NATIONAL_IGNORED = {"姓名拼音", "主页地址", "成员1姓名", "成员1关系", "成员1是否监护人", "成员1联系电话"}

# The forms schools' files really hold, cycled through the rows.
BIRTH_FORMS = (lambda d: d.strftime("%Y%m%d"), lambda d: d, lambda d: d.isoformat(),
               lambda d: d.strftime("%Y.%m.%d"), lambda d: "%d年%d月%d日" % (d.year, d.month, d.day),
               lambda d: "%d/%d/%d" % (d.year, d.month, d.day))
MONTH_FORMS = ("2024-09", "2024.09", "202409", "2024/9", "2024年9月", datetime.datetime(2024, 9, 1), 202409)
PLACES = (("北京市朝阳区", "110105"), ("浙江省杭州市上城区", "330102"), ("杭州市上城区", "330102"),
          ("浙江杭州上城区", "330102"), ("110105", "110105"), ("北京朝阳区", "110105"))
NATIONALITIES = ("中国", "CHN", "中华人民共和国", "CHN-中国")
ATTENDANCE = (("走读", "1"), ("住校", "2"), ("1-走读", "1"), ("2 住校", "2"), ("1", "1"))
HOUSEHOLD = (("农业户口", "1"), ("非农业户口", "2"), ("2-非农业户口", "2"), ("1", "1"))
YES_NO = ("是", "否", "1-是", "0-否", "否")


def national_row(i, klass="2024级3班", county="110105"):
    """One pupil as the national layout writes it, and the values it should be stored as."""
    born = datetime.date(2017, 1, 1) + datetime.timedelta(days=i % 360)
    gender = "1" if i % 2 else "2"
    number = resident_id(county, born, (i // 360) * 2 % 1000 + (1 if gender == "1" else 0))
    birthplace, birthplace_code = PLACES[i % len(PLACES)]
    native, native_code = PLACES[(i + 1) % len(PLACES)]
    attendance, attendance_code = ATTENDANCE[i % len(ATTENDANCE)]
    household, household_code = HOUSEHOLD[i % len(HOUSEHOLD)]
    values = {
        "姓名": "国" + "甲乙丙丁戊己庚辛壬癸"[i % 10] + "一二三四五六七八九十"[i // 10 % 10] + "子丑寅卯"[i // 100 % 4],
        "性别": ("男" if gender == "1" else "女") if i % 3 else gender,
        "出生日期": BIRTH_FORMS[i % len(BIRTH_FORMS)](born),
        "出生地": birthplace, "籍贯": native, "民族": ("汉族", "01", "汉", "01-汉族")[i % 4],
        "国籍/地区": NATIONALITIES[i % len(NATIONALITIES)],
        "身份证件类型": ("居民身份证", "1", "1-居民身份证")[i % 3], "身份证件号": number,
        "港澳台侨外": ("否", "00", "0")[i % 3], "政治面貌": "群众", "健康状况": ("健康或良好", "10")[i % 2],
        "姓名拼音": "GUO", "曾用名": "", "身份证件有效期": ("", "2020.06.01-2030.06.01", "长期")[i % 3],
        "户口所在地": birthplace, "户口性质": household, "特长": "", "学籍辅号": "", "班内学号": str(i + 1),
        "年级": "", "班级": klass, "入学年月": MONTH_FORMS[i % len(MONTH_FORMS)],
        "入学方式": ("就近入学", "11")[i % 2], "就读方式": attendance, "学生来源": "正常入学",
        "现住址": "北京市朝阳区光华路%d号" % (i + 1), "通信地址": "北京市朝阳区光华路%d号" % (i + 1),
        "家庭住址": "北京市朝阳区光华路%d号" % (i + 1), "联系电话": 13800138000 + i, "邮政编码": "100020",
        "电子信箱": "", "主页地址": "", "是否独生子女": YES_NO[i % len(YES_NO)],
        "是否受过学前教育": "是", "是否留守儿童": ("非留守儿童", "0")[i % 2], "是否进城务工人员随迁子女": "否",
        "是否孤儿": "否", "是否烈士或优抚子女": "否", "随班就读": "否", "残疾类型": "",
        "是否由政府购买学位": "否", "是否需要申请资助": "否", "是否享受一补": "否",
        "上下学距离": ("1.5", "2公里", 0.8)[i % 3], "上下学方式": "步行", "是否需要乘坐校车": "否",
        "成员1姓名": "国父", "成员1关系": "父亲", "成员1是否监护人": "是", "成员1联系电话": "13900139000",
    }
    expected = {"id_number": number, "birth_date": born, "gender": gender, "birthplace": birthplace_code,
                "native_place": native_code, "household_place": birthplace_code, "nationality": "CHN",
                "ethnicity": "01", "enrolled_on": "202409", "attendance_mode": attendance_code,
                "household_type": household_code, "only_child": YES_NO[i % len(YES_NO)] in ("是", "1-是")}
    return values, expected


def national_xlsx(rows, header=NATIONAL_HEADER, title=None):
    """An xlsx laid out like the national export: ``rows`` are dicts keyed by header;
    ``title`` puts a title row above the header, as exports often have."""
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(h) for h in header])
    for cells in sheet.iter_rows(min_row=2 if not title else 3):
        for cell in cells:
            if isinstance(cell.value, datetime.datetime):
                cell.number_format = "yyyy-mm-dd"  # a real Excel date cell
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
