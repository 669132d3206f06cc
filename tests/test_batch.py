"""Batch modification: preview, whole-record validation, apply, class moves by review."""
import re

import pytest
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import content
from xueji_site.record import review
from .conftest import Browser, add_user, build_tree, open_site, resolve, student_values, valid_id

SCHOOL = "/110000/110105/2111000001/"


@pytest.fixture
def school(app):
    with open_site(app) as site:
        registry = get_current_registry()
        nodes = build_tree(site, registry)
        for n, name in enumerate(("赵一", "钱二")):
            content.create("Student", nodes["class_a"], student_values(valid_id("1101052017040%d002" % (n + 1)),
                                                                      name, "2"), registry)
        content.create("SchoolClass", nodes["school_a"], {"cohort": 2024, "number": 4, "name": ""}, registry)
        add_user(site, "reg", "school_registrar", at=nodes["school_a"])
        add_user(site, "head", "principal", at=nodes["school_a"])
        add_user(site, "county", "bureau_admin", at=nodes["county_a"])
        add_user(site, "t", "teacher", at=nodes["class_a"])
    return SCHOOL


def _client(app, login):
    client = Browser(app)
    client.login(login)
    return client


def _preview(client, field, value, classes=()):
    form = client.get(SCHOOL + "batch?field=" + field).forms["batch-form"]
    form["value"] = value
    for key in classes:
        form.get("checkbox", index=["2024-03", "2024-04"].index(key)).checked = True
    return form.submit("preview", status=200)


def test_batch_sets_a_field_after_preview(app, school):
    reg = _client(app, "reg")
    preview = _preview(reg, "attendance_mode", "2", classes=["2024-03"])
    assert preview.text.count("可以修改") == 3 and "李明" in preview.text and "走读" in preview.text
    with open_site(app) as site:
        assert all(s.attendance_mode == "1" for s in resolve(site, SCHOOL + "2024-03").values())
    done = preview.forms["apply-form"].submit("apply", status=303).follow()
    assert "已修改 3 人" in done.text
    with open_site(app) as site:
        pupils = list(resolve(site, SCHOOL + "2024-03").values())
        assert all(s.attendance_mode == "2" for s in pupils)
        assert all(list(s.history.values())[-1][5] == "batch" for s in pupils)
        entry = site.audit.newest(lambda e: e.action == "batch-modify")[0]
        assert ("changed", "3") in entry.detail and ("field", "attendance_mode") in entry.detail


def test_rows_that_would_break_a_record_are_left_alone(app, school):
    reg = _client(app, "reg")
    preview = _preview(reg, "enrolled_on", "201703")  # after 李明's birth month, before the others'
    assert preview.text.count("入学年月不能早于出生日期") == 2 and "请更正标出的错误" not in preview.text
    assert preview.text.count("可以修改") == 1
    preview.forms["apply-form"].submit("apply", status=303)
    with open_site(app) as site:
        assert sorted(s.enrolled_on for s in resolve(site, SCHOOL + "2024-03").values()) == [
            "201703", "202409", "202409"]
    preview = _preview(reg, "enrolled_on", "202309", classes=["2024-03"])
    assert preview.text.count("可以修改") == 3


def test_a_stale_preview_is_not_applied(app, school):
    reg = _client(app, "reg")
    preview = _preview(reg, "school_bus", True, classes=["2024-03"])
    with open_site(app) as site:
        content.create("Student", resolve(site, SCHOOL + "2024-03"),
                       student_values(valid_id("11010520170501002"), "孙三", "2"), get_current_registry())
    page = preview.forms["apply-form"].submit("apply", status=303).follow()
    assert "请重新预览" in page.text
    with open_site(app) as site:
        assert not any(s.school_bus for s in resolve(site, SCHOOL + "2024-03").values())


def test_class_move_in_batch_goes_through_review(app, school):
    reg = _client(app, "reg")
    preview = _preview(reg, "klass", "2024-04", classes=["2024-03"])
    assert preview.text.count("可以修改") == 3
    done = preview.forms["apply-form"].submit("apply", status=303).follow()
    assert "提交审核 3 人" in done.text
    with open_site(app) as site:
        pupils = list(resolve(site, SCHOOL + "2024-03").values())
        assert len(pupils) == 3 and all(review.moves_class(review.pending_of(p)) for p in pupils)
        url = SCHOOL + "2024-03/" + pupils[0].__name__ + "/"
    head, county = _client(app, "head"), _client(app, "county")
    record = head.get(url)
    assert "2024级3班" in record.text and "2024级4班" in record.text
    for client in (head, county):
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/password").text).group(1)
        client.post(url + "review", {"csrf_token": token, "action": "approve"}, status=303)
    with open_site(app) as site:
        assert len(resolve(site, SCHOOL + "2024-03")) == 2 and len(resolve(site, SCHOOL + "2024-04")) == 1
        moved = list(resolve(site, SCHOOL + "2024-04").values())[0]
        assert [e[3] for e in moved.history.values()][-1] == "move"
        assert list(site.catalog["parent"].applyEq(SCHOOL + "2024-04")) == [moved.docid]


def test_teacher_cannot_batch_and_unknown_fields_are_refused(app, school):
    _client(app, "t").get(SCHOOL + "2024-03/batch", status=403)
    reg = _client(app, "reg")
    reg.get(SCHOOL + "batch?field=name", status=400)
    reg.get(SCHOOL + "batch?field=id_number", status=400)
