"""Issue 12 (screens): a refused transfer-in or status request keeps what was typed and
says what was wrong; a guardian's unknown school code is named as such."""
from .conftest import open_site, resolve
from .test_workflow import client, world  # noqa: F401  (fixture)
from xueji_site.status import changes as workflow


def test_a_failed_transfer_in_search_keeps_what_was_typed(app, world):
    reg_b = client(app, "reg_b")
    form = reg_b.get(world["school_b"] + "/transfer-in").forms["transfer-form"]
    target = form["target"].options[-1][0]
    form["number"], form["name"], form["target"], form["reason"] = "110105201703120038", "李明明", target, "随父母调动"
    page = form.submit("start", status=200)
    assert "未找到号码与姓名相符的在籍学生" in page.text
    again = page.forms["transfer-form"]
    assert again["number"].value == "110105201703120038" and again["name"].value == "李明明"
    assert again["target"].value == target and again["reason"].value == "随父母调动"
    again["name"] = "李明"
    again.submit("start", status=303)
    with open_site(app) as site:
        assert workflow.open_change_of(resolve(site, world["pupil_a"])) is not None


def test_a_guardians_unknown_school_code_says_so_and_keeps_the_form(app, world):
    guardian = client(app, "guard")
    form = guardian.get(world["pupil_a"] + "/status").forms["status-form"]
    form["kind"], form["reason"], form["school_code"] = "transfer", "搬家到海淀", "2111009999"
    page = form.submit("start", status=200)
    assert "没有学校标识码为“2111009999”的学校" in page.text
    again = page.forms["status-form"]
    assert again["kind"].value == "transfer" and again["school_code"].value == "2111009999"
    assert again["reason"].value == "搬家到海淀"
    form = guardian.get(world["pupil_a"] + "/status").forms["status-form"]
    form["kind"], form["reason"], form["school_code"] = "transfer", "搬家", ""
    assert "请填写转入学校的学校标识码" in form.submit("start", status=200).text


def test_a_refused_suspension_keeps_its_dates(app, world):
    reg = client(app, "reg_a")
    form = reg.get(world["pupil_a"] + "/status").forms["status-form"]
    form["kind"], form["reason"] = "suspend", "因病"
    form["starts_on"], form["ends_on"] = "2026-09-01", "2028-09-01"
    page = form.submit("start", status=200)
    assert "不超过一年" in page.text
    again = page.forms["status-form"]
    assert (again["starts_on"].value, again["ends_on"].value, again["kind"].value) == ("2026-09-01", "2028-09-01",
                                                                                       "suspend")
