"""Graduation: certificates, blocking business, outcomes, the bureau's approval for senior high."""
import datetime
import re

import pytest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path
from stdnum.cn import ric

from xueji_site.graduates import certificates, graduation, verification
from xueji_site.kernel import content
from xueji_site.status import changes as workflow
from .conftest import Browser, add_user, build_tree, open_site, resolve, student_values


def _id(body):
    return body + ric.calc_check_digit(body + "0")


def test_certificate_number_format_and_check_character():
    number = certificates.make("2111000001", 2025, workflow.GRADUATED, 1)
    assert len(number) == 21 and number.startswith("2111000001" + "2025" + "1" + "00001")
    assert certificates.is_valid(number) and certificates.is_valid(certificates.shown(number))
    body = number[:20]
    for i in range(20):  # every single mistyped digit is caught
        wrong = body[:i] + str((int(body[i]) + 3) % 10) + body[i + 1:] + number[20]
        assert not certificates.is_valid(wrong)
    for i in range(19):  # and every swap of two different neighbours
        if body[i] != body[i + 1]:
            swapped = body[:i] + body[i + 1] + body[i] + body[i + 2:] + number[20]
            assert not certificates.is_valid(swapped)
    assert certificates.parts(number) == ("2111000001", 2025, workflow.GRADUATED, 1)


@pytest.fixture
def grads(app):
    """build_tree plus a senior school whose 2022 cohort has three pupils."""
    with open_site(app) as site:
        registry = get_current_registry()
        n = build_tree(site, registry)
        senior = content.create("School", n["county_a"], {"code": "3411000005", "name": "朝阳中学",
                                                          "address": "", "phone": ""}, registry)
        klass = content.create("SchoolClass", senior, {"cohort": 2022, "number": 1, "name": ""}, registry)
        teens = [content.create("Student", klass, dict(student_values(_id("1101052007031%04d" % i), name, "1"),
                                                      enrolled_on="202209"), registry)
                 for i, name in enumerate(("高一", "高二", "高三"))]
        add_user(site, "reg_a", "school_registrar", at=n["school_a"])
        add_user(site, "reg_s", "school_registrar", at=senior)
        add_user(site, "county", "bureau_admin", at=n["county_a"])
        return {"school_a": resource_path(n["school_a"]), "pupil_a": resource_path(n["pupil_a"]),
                "senior": resource_path(senior), "teens": [resource_path(t) for t in teens]}


def _token(browser, url):
    return re.search(r'name="csrf_token" value="([^"]+)"', browser.get(url).text).group(1)


def test_compulsory_school_graduates_a_cohort_in_one_action(app, grads):
    browser = Browser(app)
    browser.login("reg_a")
    url = grads["school_a"] + "/graduation?cohort=2024"
    page = browser.get(url)
    assert "李明" in page.text and "肄业" not in page.text  # 结业/肄业: senior high only
    browser.post(url, {"csrf_token": _token(browser, url), "graduate": "1"}, status=303)
    with open_site(app) as site:
        pupil = resolve(site, grads["pupil_a"])
        number = graduation.certificate_of(pupil)
        assert pupil.status == workflow.GRADUATED and certificates.is_valid(number)
        assert number.startswith("2111000001") and number[14] == "1"
        assert verification.look_up(site, number, name="李明")["valid"]
        assert any(e.action == "graduate" for e in site.audit.newest(limit=20))
    again = browser.post(url, {"csrf_token": _token(browser, url), "graduate": "1"}, status=200)
    assert "没有可办理毕业的在籍学生" in again.text


def test_pending_business_blocks_and_is_listed(app, grads):
    with open_site(app) as site:
        pupil = resolve(site, grads["pupil_a"])
        user = site.principals.by_login_name("reg_a")
        workflow.start("suspend", pupil, user, "生病", starts_on=datetime.date(2026, 9, 1),
                       ends_on=datetime.date(2027, 1, 31))
    with open_site(app) as site:
        school = resolve(site, grads["school_a"])
        with pytest.raises(graduation.GraduationError) as refused:
            graduation.graduate(school, 2024)
        assert [p.name for p in refused.value.args[1]] == ["李明"]
    browser = Browser(app)
    browser.login("reg_a")
    page = browser.get(grads["school_a"] + "/graduation?cohort=2024")
    assert 'id="blocking"' in page.text and "李明" in page.text and "graduation-form" not in page.text


def test_senior_high_needs_the_bureau_and_checks_outcomes(app, grads):
    teens = grads["teens"]
    with open_site(app) as site:
        keys = [resolve(site, t).__name__ for t in teens]
        school = resolve(site, grads["senior"])
        primary = resolve(site, grads["school_a"])
        with pytest.raises(graduation.GraduationError):  # 结业 is for senior high only
            graduation.graduate(primary, 2024, {resolve(site, grads["pupil_a"]).__name__: workflow.COMPLETED})
        import datetime
        with pytest.raises(graduation.GraduationError):  # 肄业 needs a year at school
            graduation.check(school, 2022, {keys[0]: workflow.INCOMPLETE}, datetime.date(2023, 6, 1))
    reg = Browser(app)
    reg.login("reg_s")
    url = grads["senior"] + "/graduation?cohort=2022"
    reg.post(url, {"csrf_token": _token(reg, url), "graduate": "1", "outcome-" + keys[1]: workflow.COMPLETED,
                   "outcome-" + keys[2]: workflow.INCOMPLETE}, status=303)
    with open_site(app) as site:
        assert all(resolve(site, t).status == workflow.ENROLLED for t in teens)  # waits for the bureau
    bureau = Browser(app)
    bureau.login("county")
    county = grads["senior"].rsplit("/", 1)[0]
    queue = bureau.get(county + "/graduation")
    key = re.search(r'name="key" value="([^"]+)"', queue.text).group(1)
    bureau.post(county + "/graduation", {"csrf_token": _token(bureau, county + "/graduation"), "key": key,
                                         "action": "approve"}, status=303)
    with open_site(app) as site:
        found = [resolve(site, t) for t in teens]
        assert [p.status for p in found] == [workflow.GRADUATED, workflow.COMPLETED, workflow.INCOMPLETE]
        numbers = [graduation.certificate_of(p) for p in found]
        assert [n[14] for n in numbers] == ["1", "2", "3"] and len(set(numbers)) == 3
        assert not graduation.waiting(resolve(site, county))
