"""The full record: reviewed key-field changes, family members, history, masking."""
import re

import pytest
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import content
from xueji_site.record import review
from .conftest import Browser, add_user, build_tree, open_site, resolve

PUPIL = "/110000/110105/2111000001/2024-03/"


@pytest.fixture
def people(app):
    """Users around school A: registrar, principal, its county's bureau, another county's bureau."""
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "reg", "school_registrar", at=nodes["school_a"])
        add_user(site, "head", "principal", at=nodes["school_a"])
        add_user(site, "county", "bureau_admin", at=nodes["county_a"])
        add_user(site, "other-county", "bureau_admin", at=nodes["county_b"])
        add_user(site, "ht", "head_teacher", at=nodes["class_a"])
        add_user(site, "t", "teacher", at=nodes["class_a"])
        return PUPIL + nodes["pupil_a"].__name__ + "/"


def _client(app, login):
    client = Browser(app)
    client.login(login)
    return client


def _edit(client, url, **values):
    form = client.get(url + "edit").forms["xueji-form"]
    for key, value in values.items():
        form[key] = value
    return form.submit("save", status=303).follow()


def _review(client, url, action, reason="", status=303):
    page = client.get("/password")  # a page every user may open, for the CSRF token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post(url + "review", {"csrf_token": token, "action": action, "reason": reason}, status=status)


def test_key_change_waits_for_principal_then_bureau(app, people):
    url = people
    reg = _client(app, "reg")
    page = _edit(reg, url, name="李明亮", review_reason="户口本更名", specialty="书法",
                 optional_consent=True)  # an optional extra: with the consent recorded (inventory.py)
    assert "已提交审核" in page.text and "已保存" in page.text
    assert "李明亮" in page.text and "待学校审核" in page.text
    with open_site(app) as site:
        pupil = resolve(site, url)
        assert pupil.name == "李明" and pupil.specialty == "书法"  # the key field waits; the other applies
    _review(reg, url, "approve", status=403)  # the registrar cannot approve
    county = _client(app, "county")
    _review(county, url, "approve", status=403)  # the bureau's turn has not come
    head = _client(app, "head")
    _review(head, url, "approve")
    assert "待教育局审核" in head.get(url).text
    _review(head, url, "approve", status=403)  # the principal cannot approve twice
    _review(_client(app, "other-county"), url, "approve", status=403)  # nor can another county
    _review(county, url, "approve")
    with open_site(app) as site:
        pupil = resolve(site, url)
        assert pupil.name == "李明亮" and review.pending_of(pupil) is None
        kinds = [entry[3] for entry in reversed(list(pupil.history.values()))]
        assert kinds[:3] == ["modify", "change-approved-school", "modify"]  # newest first
        final = next(e for e in reversed(list(pupil.history.values())) if e[3] == "modify")
        assert ("name", "李明", "李明亮") in final[4] and "reviewed: reg → county" in final[5]
        actions = [(e.action, dict(e.detail)["decision"], e.login)
                   for e in site.audit.newest(lambda e: e.action == "key-change")]
        assert actions == [("key-change", "approved", "county"), ("key-change", "approved", "head"),
                           ("key-change", "requested", "reg")]
    record = reg.get(url)
    assert "变动记录" in record.text and "李明 → 李明亮" in record.text


def test_reject_needs_a_reason_and_withdraw_is_the_requesters(app, people):
    url = people
    reg = _client(app, "reg")
    page = reg.get(url + "edit").forms["xueji-form"]
    page["birth_date"] = "2017-03-13"
    refused = page.submit("save", status=200)  # a key change must still agree with the ID number
    assert "出生日期与身份证号中的出生日期" in refused.text
    with open_site(app) as site:
        assert review.pending_of(resolve(site, url)) is None
    page = reg.get(url + "edit").forms["xueji-form"]
    page["gender"] = "2"
    refused = page.submit("save", status=200)
    assert "性别与身份证号第17位不一致" in refused.text
    _edit(reg, url, name="李小明")
    again = _edit(reg, url, name="李大明")
    assert "已有待审核" in again.text
    head = _client(app, "head")
    page = _review(head, url, "reject", reason="").follow()
    assert "驳回时必须填写理由" in page.text
    _review(head, url, "withdraw")
    with open_site(app) as site:
        assert review.pending_of(resolve(site, url)) is not None  # only the requester may withdraw
    _review(reg, url, "withdraw")
    _edit(reg, url, name="李大明")
    _review(head, url, "reject", reason="与户籍不符")
    with open_site(app) as site:
        pupil = resolve(site, url)
        assert pupil.name == "李明" and review.pending_of(pupil) is None
        assert [c.state for c in review.past_of(pupil)] == ["withdrawn", "rejected"]


def test_family_members_and_masking_by_role(app, people):
    url = people
    reg = _client(app, "reg")
    form = reg.get(url + "add?type=FamilyMember").forms["xueji-form"]
    form["name"], form["relation"], form["is_guardian"] = "李建国", "11", True
    page = form.submit("save", status=200)
    assert "监护人须填写证件号码和联系电话" in page.text
    form = page.forms["xueji-form"]
    form["id_number"], form["phone"] = "110105198001010016", "13700001111"
    member = form.submit("save", status=303).follow()
    assert "李建国" in member.text and "13700001111" in member.text
    record = reg.get(url)
    assert "李建国" in record.text and "父亲" in record.text
    assert "110105201703120038" in record.text  # the registrar sees numbers in full

    head_teacher = _client(app, "ht")
    record = head_teacher.get(url)
    assert "1101**********0038" in record.text and "110105201703120038" not in record.text
    assert "138****8000" in record.text and "13800138000" not in record.text
    assert "北京市朝阳" in record.text and "光华路" not in record.text  # an address keeps its district only
    edit = head_teacher.get(url + "edit").forms["xueji-form"]
    assert "id_number" not in edit.fields and "phone" not in edit.fields

    teacher = _client(app, "t")
    teacher.get(url, status=403)
    member_url = member.request.path
    teacher.get(member_url, status=403)
    listing = teacher.get(PUPIL)
    assert "李明" in listing.text and "110105201703120038" not in listing.text and "1101**" not in listing.text


def test_deleting_a_record_takes_its_family_and_index_entries(app, people):
    url = people
    with open_site(app) as site:
        pupil = resolve(site, url)
        content.create("FamilyMember", pupil, {"name": "李母", "relation": "12"}, get_current_registry())
        add_user(site, "root", "sysadmin")  # only a sysadmin deletes a record (test_cancellation.py)
    root = _client(app, "root")
    page = root.get(url + "delete")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    root.post(url + "delete", {"csrf_token": token, "delete": "1", "reason": "重复录入"}, status=303)
    with open_site(app) as site:
        assert len(resolve(site, PUPIL)) == 0
        assert list(site.catalog["content_type"].applyEq("FamilyMember")) == []
        assert len(list(site.catalog["content_type"].applyEq("Student"))) == 1


def test_record_card_is_complete_masked_and_audited(app, people):
    url = people
    reg = _client(app, "reg")
    card = reg.get(url + "card")
    for label in ("学生学籍卡", "基本信息", "联系方式", "监护人", "学校", "朝阳实验小学", "110105201703120038",
                  "北京市朝阳区光华路1号", "打印日期"):
        assert label in card.text, label
    head_teacher = _client(app, "ht")
    card = head_teacher.get(url + "card")
    assert "1101**********0038" in card.text and "光华路1号" not in card.text
    _client(app, "t").get(url + "card", status=403)
    with open_site(app) as site:
        reads = site.audit.newest(lambda e: e.action == "view-record" and ("via", "card") in e.detail)
        assert [e.login for e in reads] == ["ht", "reg"]
