"""The foundation's end-to-end path through the generated forms."""
from .conftest import add_user, open_site


def test_sysadmin_builds_tree_and_edits_student(app, browser):
    with open_site(app) as site:
        add_user(site, "admin", "sysadmin")
    browser.login("admin")
    home = browser.get("/")
    assert "全国" in home.text

    form = browser.get("/add?type=Bureau").forms["xueji-form"]
    form["code"] = "110000"
    form["name"] = "北京市教育委员会"
    page = form.submit("save", status=303).follow()
    assert "北京市教育委员会" in page.text
