"""Batch import through the web: template, upload, check, report, confirm;
bad files are refused cleanly and nothing is half-applied."""
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.kernel import spreadsheets

from .conftest import add_user, build_tree, open_site, resolve
from .import_helpers import csv_bytes, pupils, titles, xlsx_bytes


@pytest.fixture
def school(app, browser, tmp_path):
    app.registry.settings["xueji.upload_dir"] = str(tmp_path / "uploads")
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "registrar", "school_registrar", at=nodes["school_a"])
        add_user(site, "teacher", "teacher", at=nodes["class_a"])
        add_user(site, "other", "school_registrar", at=nodes["school_b"])
        path = resource_path(nodes["school_a"])
    browser.login("registrar")
    return path


def _students(app, school_path):
    with open_site(app) as site:
        school = resolve(site, school_path)
        return {s.name: s.id_number for k in school.values() for s in k.values()}


def _upload(browser, path, data, filename="pupils.xlsx", status=200):
    form = browser.get(path + "/import").forms["import-form"]
    form["file"] = (filename, data)
    return form.submit(status=status)


def _count(page, name):
    return int(re.search(r'id="count-%s">(\d+)<' % name, page.text).group(1))


def _report(browser, page):
    url = page.html.find(id="report-link")["href"]
    response = browser.get(url)
    assert response.headers["Content-Disposition"].startswith("attachment")
    return list(load_workbook(io.BytesIO(response.body)).worksheets[0].iter_rows(values_only=True))


def test_template_has_schema_headers_and_dropdowns(browser, school):
    response = browser.get(school + "/import-template")
    book = load_workbook(io.BytesIO(response.body))
    header = [c.value for c in book["学生"][1]]
    assert header[:3] == ["姓名", "曾用名", "性别"] and header[-1] == "班级"
    assert set(titles().values()) <= set(header)  # every schema field is a column
    assert book["codes"].sheet_state == "hidden"
    formulas = [dv.formula1 for dv in book["学生"].data_validations.dataValidation]
    assert any("codes!" in f for f in formulas)
    assert "说明" in book.sheetnames


def test_upload_check_report_then_import_valid_rows(app, browser, school):
    rows = pupils(4)
    rows[1]["id_number"] = rows[1]["id_number"][:-1] + ("0" if rows[1]["id_number"][-1] != "0" else "1")
    rows[2]["id_number"] = rows[0]["id_number"]                 # duplicate within the file
    rows[3]["name"] = '=HYPERLINK("http://evil.example","x")'  # formula injection
    rows[0]["gender"] = "女" if rows[0]["gender"] == "2" else "男"  # labels accepted for codes
    page = _upload(browser, school, xlsx_bytes(rows + pupils(2, start=10)))
    assert (_count(page, "new"), _count(page, "errors"), _count(page, "exists")) == (3, 3, 0)
    assert _students(app, school) == {"李明": "110105201703120038"}  # nothing yet
    report = _report(browser, page)
    assert report[0][-1] == "检查结果"
    assert "校验码不正确" in report[2][-1]
    assert "与第 2 行重复" in report[3][-1]
    assert report[4][report[0].index("姓名")].startswith("'=") and "姓名" in report[4][-1]
    page.forms["confirm-form"].submit("action", value="valid", status=303)
    assert len(_students(app, school)) == 4
    with open_site(app) as site:
        entry = site.audit.newest(lambda e: e.action == "import", limit=1)[0]
        assert dict(entry.detail)["created"] == "3" and dict(entry.detail)["errors"] == "3"


def test_rerun_reports_existing_rows_and_creates_nothing(app, browser, school):
    data = xlsx_bytes(pupils(3))
    _upload(browser, school, data).forms["confirm-form"].submit("action", value="valid", status=303)
    page = _upload(browser, school, data)
    assert (_count(page, "new"), _count(page, "exists")) == (0, 3)
    assert "已在本校登记" in _report(browser, page)[1][-1]
    assert len(_students(app, school)) == 4


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_encodings(app, browser, school, encoding):
    page = _upload(browser, school, csv_bytes(pupils(2), encoding), "pupils.csv")
    assert _count(page, "new") == 2
    page.forms["confirm-form"].submit("action", value="valid", status=303)
    assert {"学生甲一", "学生乙一"} <= set(_students(app, school))


def test_cancel_imports_nothing_and_deletes_the_upload(app, browser, school, tmp_path):
    page = _upload(browser, school, xlsx_bytes(pupils(2)))
    assert len(list((tmp_path / "uploads").iterdir())) == 3
    page.forms["confirm-form"].submit("action", value="none", status=303)
    assert list((tmp_path / "uploads").iterdir()) == []
    assert len(_students(app, school)) == 1


def test_token_is_bound_to_its_user(app, browser, school):
    page = _upload(browser, school, xlsx_bytes(pupils(2)))
    token = page.forms["confirm-form"]["token"].value
    browser.logout()
    with open_site(app) as site:
        add_user(site, "registrar2", "school_registrar", at=resolve(site, school))
    browser.login("registrar2")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(school + "/import").text).group(1)
    browser.post(school + "/import-confirm", {"token": token, "action": "valid", "csrf_token": csrf},
                 status=404)
    browser.get(school + "/import-report?token=" + token, status=404)
    assert len(_students(app, school)) == 1


def test_permissions(app, browser, school):
    browser.logout()
    browser.login("teacher")
    browser.get(school + "/import", status=403)
    browser.logout()
    browser.login("other")
    browser.get(school + "/import", status=403)
    browser.get(school + "/import-template", status=403)


def test_upload_needs_csrf(app, browser, school, tmp_path):
    with open_site(app) as site:
        before = len(site.docmap)
    browser.post(school + "/import", upload_files=[("file", "a.xlsx", xlsx_bytes(pupils(1)))], status=400)
    with open_site(app) as site:
        assert len(site.docmap) == before  # nothing stored
    uploads = tmp_path / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())  # nor kept for a second step


# -- bad files ------------------------------------------------------------------------

def _zip_bomb():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    return out.getvalue()


def _billion_laughs():
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(pupils(1))))
    entities = '<!ENTITY a0 "lol">' + "".join(
        '<!ENTITY a%d "%s">' % (i, ("&a%d;" % (i - 1)) * 10) for i in range(1, 10))
    bomb = '<?xml version="1.0"?><!DOCTYPE lolz [%s]><sst xmlns="http://schemas.openxmlformats.org/' \
           'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&a9;</t></si></sst>' % entities
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.endswith("worksheets/sheet1.xml"):
                data = data.replace(b"<c r=\"A1\"", b"<c r=\"A1\" t=\"s\"", 1)
            z.writestr(info.filename, data)
        z.writestr("xl/sharedStrings.xml", bomb)
        if "xl/sharedStrings.xml" not in source.namelist():
            pass
    return out.getvalue()


@pytest.mark.parametrize("data,filename,message", [
    (_zip_bomb(), "bomb.xlsx", "压缩炸弹"),
    (_billion_laughs(), "laughs.xlsx", "文件无法读取"),
    (b"<!DOCTYPE html><html><body>hi</body></html>", "page.xlsx", "格式无法识别"),
    (b"PK\x03\x04not really a zip", "broken.xlsx", "不是有效的 Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old.xls", "旧版 Excel"),
    (b"\xff\xfe\x00\xd8" * 10, "odd.csv", "格式无法识别"),
], ids=["zip-bomb", "billion-laughs", "html-as-xlsx", "broken-zip", "xls", "binary"])
def test_bad_files_are_refused(app, browser, school, data, filename, message):
    page = _upload(browser, school, data, filename)
    assert message in page.html.find(id="import-error").text
    assert "confirm-form" not in page.forms
    assert len(_students(app, school)) == 1


def test_huge_upload_refused_before_reading(browser, school):
    body = b"a,b\n" + b"x" * (30 * 1024 * 1024)
    form = browser.get(school + "/import").forms["import-form"]
    form["file"] = ("big.csv", body)
    form.submit(status=413)


def test_limits_in_the_reader():
    with pytest.raises(spreadsheets.Rejected):
        spreadsheets.open_table(b"a\n" * 11, spreadsheets.Limits(max_bytes=20))
    table = spreadsheets.open_table(b"h\n" + b"x\n" * 30, spreadsheets.Limits(max_rows=10))
    with pytest.raises(spreadsheets.Rejected):
        list(spreadsheets.read_rows(table))
    with pytest.raises(spreadsheets.Rejected, match="列数过多"):
        spreadsheets.open_table(b",".join([b"c"] * 300) + b"\n", spreadsheets.Limits())


def test_missing_class_and_unknown_class(app, browser, school):
    rows = pupils(2)
    rows[0]["班级"] = ""
    rows[1]["班级"] = "1999-09"
    page = _upload(browser, school, xlsx_bytes(rows))
    report = _report(browser, page)
    assert "请填写班级" in report[1][-1] and "本校没有班级" in report[2][-1]
    form = browser.get(school + "/import").forms["import-form"]
    form["file"] = ("p.xlsx", xlsx_bytes([dict(pupils(1)[0], 班级="")]))
    form["class"] = "2024-03"
    assert _count(form.submit(), "new") == 1
