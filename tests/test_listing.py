"""Contents listings: paged and sorted from the catalog, exported to xlsx and csv."""
import csv
import io
import re

import openpyxl
import pytest
from pyramid.threadlocal import get_current_registry
from stdnum.cn import ric

from xueji_site.kernel import content
from .conftest import add_user, build_tree, open_site, student_values

SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马苗凤花方俞任袁柳"


def _id(n):
    body = "110105201601%02d%03d" % (n % 28 + 1, 100 + n)
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def crowded(app):
    with open_site(app) as site:
        registry = get_current_registry()
        nodes = build_tree(site, registry)
        for n in range(64):
            number = _id(n)
            name = SURNAMES[n % len(SURNAMES)] + SURNAMES[(n * 7) % len(SURNAMES)] + "同学"
            values = student_values(number, name, "1" if int(number[16]) % 2 else "2")
            content.create("Student", nodes["class_a"], values, registry)
        content.create("School", nodes["county_a"], {"code": "2111000077", "name": "=HYPERLINK(\"http://x\")",
                                                     "address": "", "phone": ""}, registry)
        add_user(site, "reg", "school_registrar", at=nodes["school_a"])
        add_user(site, "admin", "sysadmin")
    return "/110000/110105/2111000001/2024-03/"


def _names(page):
    return re.findall(r'<td><a href="[^"]+">([^<]+)</a>', page.text)


def test_pages_and_sorting(browser, crowded):
    browser.login("reg")
    first = browser.get(crowded)
    assert "(65)" in first.text and "1 / 2" in first.text
    page_one = _names(first)
    assert len(page_one) == 50 and page_one == sorted(page_one)
    second = browser.get(crowded + "?type=Student&page=2&sort=title&dir=asc")
    assert "2 / 2" in second.text
    page_two = _names(second)
    assert len(page_two) == 15 and page_two == sorted(page_two) and page_one[-1] <= page_two[0]
    desc = _names(browser.get(crowded + "?type=Student&sort=title&dir=desc"))
    assert desc == sorted(page_one + page_two, reverse=True)[:50]


def _approved(app, path, rows, count):
    """``count`` approvals for the registrar's export of ``path``'s pupils, decided by its principal."""
    from xueji_site.exports import approvals
    from .conftest import resolve
    with open_site(app) as site:
        node = resolve(site, path)
        reg = site.principals.by_login_name("reg")
        head = site.principals.by_login_name("head") or add_user(site, "head", "principal", at=node.__parent__)
        ids = []
        for _n in range(count):
            approval = approvals.request_export(site, reg, node, "internal", "学期末核对名单", "", "listing",
                                                "Student", "", rows)
            approvals.decide(site, head, approval, True, "同意")
            ids.append(approval.id)
    return ids


def test_export_xlsx_and_csv_of_the_whole_listing(app, browser, crowded):
    browser.login("reg")
    # 65 pupils are more than a class (xueji.export_approval_rows, 60): the export needs an approval (G3)
    browser.get(crowded + "export?type=Student&format=xlsx", status=403)
    first, second = _approved(app, crowded, 65, 2)
    response = browser.get(crowded + "export?type=Student&format=xlsx&approval=" + first)
    assert response.content_type.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.body)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("姓名", "性别", "出生日期", "民族", "学校", "班级", "年级", "学籍状态", "全国学籍号", "班内学号",
                       "入学年月", "就读方式", "监护人姓名", "监护人关系", "监护人电话") and len(rows) == 66  # issue 12
    response = browser.get(crowded + "export?type=Student&format=csv&approval=" + second)
    assert response.body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert len(rows) == 66 and rows[1][1] in ("男", "女")
    with open_site(app) as site:
        exports = site.audit.newest(lambda e: e.action == "export" and e.result == "ok")
        assert [dict(e.detail)["rows"] for e in exports] == ["65", "65"]


def test_export_defuses_formulas(browser, crowded):
    browser.login("admin")
    response = browser.get("/110000/110105/export?type=School&format=csv")
    assert "'=HYPERLINK" in response.body.decode("utf-8-sig")
    response = browser.get("/110000/110105/export?type=School&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.body)).active
    names = [row[1] for row in sheet.iter_rows(values_only=True)]
    assert "'=HYPERLINK(\"http://x\")" in names
