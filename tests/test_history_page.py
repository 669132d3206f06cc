"""Issue 12 (screens in the user's language): the record's history shows every kind,
status, code, flag, place and part as text in the reader's language, never the
internal words it is stored in."""
import datetime
import re

import pytest
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import content
from xueji_site.status import changes as workflow
from .conftest import Browser, add_user, build_tree, open_site, resolve

INTERNAL = ("status-changed", "suspended", "enrolled", "add-part", "FamilyMember", "True", "False",
            "/110000/", "modify-part", "status-requested", "guardian consent")


@pytest.fixture
def pupil(app):
    """A pupil whose history holds a direct edit, a part added and changed, a move within
    the school and an approved 休学."""
    with open_site(app) as site:
        registry = get_current_registry()
        n = build_tree(site, registry)
        reg = add_user(site, "reg", "school_registrar", at=n["school_a"])
        head = add_user(site, "head", "principal", at=n["school_a"])
        county = add_user(site, "county", "bureau_admin", at=n["county_a"])
        student = n["pupil_a"]
        content.modify(student, {"attendance_mode": "2", "only_child": True, "birthplace": "330106"}, registry)
        member = content.create("FamilyMember", student, {"name": "李建国", "relation": "11"}, registry)
        content.modify(member, {"relation": "12"}, registry)
        other = content.create("SchoolClass", n["school_a"], {"cohort": 2024, "number": 4, "name": ""}, registry)
        n["class_a"].move(student.__name__, other, registry=registry)
        change = workflow.start("suspend", student, reg, "因病休学", starts_on=datetime.date(2026, 1, 5),
                                ends_on=datetime.date(2026, 6, 30), registry=registry)
        workflow.decide(change, student, head, True, registry=registry)
        workflow.decide(change, student, county, True, registry=registry)
        return "/".join(["", n["province"].__name__, n["county_a"].__name__, n["school_a"].__name__,
                         other.__name__, student.__name__, ""])


def _history(app, url, language):
    client = Browser(app, extra_environ={"HTTP_ACCEPT_LANGUAGE": language})
    client.login("reg")
    page = client.get(url)
    found = re.search(r'<section[^>]*class="history".*?</section>', page.text, re.S)
    assert found
    return re.sub(r"\s+", " ", found.group(0))


def test_history_reads_in_chinese(app, pupil):
    text = _history(app, pupil, "zh-CN")
    for word in INTERNAL:
        assert word not in text, word
    assert "就读方式: 走读 → 住校" in text
    assert "独生子女: 否 → 是" in text
    assert "浙江省杭州市西湖区" in text  # the birthplace by name
    assert "学籍状态: 在籍 → 休学" in text and "学籍状态变更" in text
    assert "家庭成员 李建国" in text and "关系: 父亲 → 母亲" in text
    assert "所在班级: 朝阳实验小学 2024级3班 → 朝阳实验小学 2024级4班" in text
    assert "学校审批通过" in text and "申请学籍异动" in text and "休学：因病休学" in text


def test_history_reads_in_english(app, pupil):
    text = _history(app, pupil, "en")
    for word in INTERNAL:
        assert word not in text, word
    assert "学籍状态" not in text and "所在班级" not in text and "休学" not in text.replace("因病休学", "")
    assert "Registry status: Enrolled → Suspension" in text and "Attendance: Day pupil → Boarding" in text
    assert "Only child: No → Yes" in text and "Family member 李建国" in text
