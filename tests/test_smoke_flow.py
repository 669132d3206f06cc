"""The foundation's end-to-end path: log in, build the tree down to a student
through the generated forms, edit the student, find the change in the audit log.
The system administrator builds the structure; the school's registrar keeps the
record (三员分立: a sysadmin sees personal data masked)."""
from .conftest import add_user, open_site, resolve, student_form


def _add(browser, url, values):
    form = browser.get(url).forms["xueji-form"]
    for key, value in values.items():
        form[key] = value
    return form.submit("save", status=303).follow()


def test_build_tree_edit_student_and_audit(app, browser):
    with open_site(app) as site:
        add_user(site, "admin", "sysadmin")
        add_user(site, "auditor1", "auditor")
    browser.login("admin")

    page = _add(browser, "/add?type=Bureau", {"code": "110000", "name": "北京市教育委员会"})
    assert "北京市教育委员会" in page.text
    page = _add(browser, "/110000/add?type=Bureau", {"code": "110105", "name": "朝阳区教育委员会"})
    assert "县级" in page.text
    page = _add(browser, "/110000/110105/add?type=School", {"code": "2111000001", "name": "朝阳实验小学"})
    assert "小学" in page.text
    page = _add(browser, "/110000/110105/2111000001/add?type=SchoolClass", {"cohort": "2024", "number": "3"})
    assert "2024级3班" in page.text
    with open_site(app) as site:
        add_user(site, "registrar", "school_registrar", at=resolve(site, "/110000/110105/2111000001"))
    browser.logout()
    browser.login("registrar")
    record = _add(browser, "/110000/110105/2111000001/2024-03/add?type=Student", student_form())
    assert "李明" in record.text
    assert "G110105201703120038" in record.text  # derived 学籍号, shown in full to the registrar
    student_url = record.request.path

    form = browser.get(student_url + "edit").forms["xueji-form"]
    assert form["specialty"].value == ""
    form["specialty"] = "围棋"
    form["optional_consent"] = True  # an optional extra: with the consent recorded (inventory.py)
    form["phone"] = "13912345678"
    page = form.submit("save", status=303).follow()
    assert "围棋" in page.text and "13912345678" in page.text

    with open_site(app) as site:
        student = resolve(site, student_url)
        assert student.specialty == "围棋" and student.phone == "13912345678"
        assert student.registry_no == "G110105201703120038"
        entries = site.audit.newest(lambda e: e.action == "modify" and e.path == student_url.rstrip("/"))
        assert len(entries) == 1
        assert ("specialty", " → 围棋") in entries[0].detail
        assert ("optional_consent", "False → True") in entries[0].detail  # the consent: who and when
        assert ("phone", "138****8000 → 139****5678") in entries[0].detail  # masked in the log
        assert entries[0].login == "registrar"

    browser.logout()
    browser.login("admin")
    masked = browser.get(student_url)
    assert "围棋" in masked.text and "G110105201703120038" not in masked.text and "13912345678" not in masked.text
    assert "139****5678" in masked.text

    browser.logout()
    browser.login("auditor1")
    log = browser.get("/audit?action=modify")
    assert "→ 围棋" in log.text and "13912345678" not in log.text
    # the auditor reads the log and nothing else
    browser.get("/110000/110105/2111000001/2024-03/", status=403)
    browser.get(student_url, status=403)
