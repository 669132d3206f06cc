"""The archive: frozen read-only records under the school, reachable by URL,
verification unchanged, guardians keep access; destinations and their report."""
import re

import pytest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.graduates import archive, graduation, verification
from xueji_site.kernel import permissions as P, security
from xueji_site.search import reports
from xueji_site.kernel.catalog import SYSTEM
from .conftest import Browser, add_user, build_tree, open_site, resolve


@pytest.fixture
def archived(app):
    with open_site(app) as site:
        registry = get_current_registry()
        n = build_tree(site, registry)
        [(pupil, number)] = graduation.graduate(n["school_a"], 2024)
        guardian = add_user(site, "guard", "guardian", at=pupil)
        add_user(site, "reg_a", "school_registrar", at=n["school_a"])
        add_user(site, "reg_b", "school_registrar", at=n["school_b"])
        docid = pupil.docid
        record = archive.archive_pupil(pupil, registry)
        assert any(p is record for p in guardian.places)
        return {"record": resource_path(record), "school": resource_path(n["school_a"]), "number": number,
                "docid": docid, "class": resource_path(n["class_a"])}


def test_archive_holds_a_frozen_record_outside_the_class_and_catalog(app, archived):
    with open_site(app) as site:
        school = resolve(site, archived["school"])
        assert list(school.keys()) == ["2024-03"] and len(resolve(site, archived["class"])) == 0
        assert archived["docid"] not in site.docmap
        record = school.graduate_archive[archived["record"].split("/")[-2]][archived["record"].split("/")[-1]]
        assert record.name == "李明" and record.id_number == "110105201703120038"
        assert graduation.certificate_of(record) == archived["number"]
        assert any(e[3] == "status-changed" for e in record.status_history)
        assert verification.look_up(site, archived["number"], name="李明")["valid"]
        registrar = site.principals.by_login_name("reg_a")
        assert security.permits(registrar, record, P.VIEW_RECORD)
        for perm in (P.EDIT, P.DELETE, P.ADD, P.SHARE):
            assert not security.permits(registrar, record, perm)
        assert not security.permits(site.principals.by_login_name("reg_b"), record, P.VIEW_RECORD)
        assert any(e.action == "set-acl" for e in site.audit.newest(limit=50))


def test_record_pages_destination_and_report(app, archived):
    reg = Browser(app)
    reg.login("reg_a")
    page = reg.get(archived["record"])
    assert "毕业生档案（只读）" in page.text and "李明" in page.text
    tabs = [a["href"] for a in page.html.select("nav a, .tabs a")]
    assert tabs and not [h for h in tabs if h.endswith(("/search", "/reports"))]  # no tabs leading to a 404
    assert "毕业生档案" in reg.get(archived["school"] + "/").text  # its own tab, not a class
    years = reg.get(archived["school"] + "/archive/")
    year = archived["record"].split("/")[-2]
    assert 'href="http://localhost%s/archive/%s/"' % (archived["school"], year) in years.text
    listing = reg.get("%s/archive/%s/" % (archived["school"], year))
    assert "李明" in listing.text and "<td>毕业</td>" in listing.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    reg.post(archived["record"] + "/destination", {"csrf_token": token, "destination": "study",
                                                  "further_school": "朝阳中学"}, status=303)
    reg.post(archived["record"] + "/contact", {"csrf_token": token, "channel": "phone", "note": "已回访"}, status=303)
    assert "朝阳中学" in reg.get(archived["record"]).text and "已回访" in reg.get(archived["record"]).text
    reg.post(archived["record"] + "/edit", {"csrf_token": token, "name": "x"}, status=404)
    with open_site(app) as site:
        table = reports.run("graduates", site, SYSTEM, resolve(site, archived["school"]).__parent__)
        header, rows = table.grid(lambda s: s)
        row = rows[0]
        assert header[0] == "年份" and row[header.index("毕业")] == 1 and row[header.index("升学")] == 1
        assert row[header.index("未登记去向")] == 0 and row[-1] == 1
    guardian = Browser(app)
    guardian.login("guard")
    assert "李明" in guardian.get(archived["record"]).text
    Browser(app).get(archived["record"], status=303)  # anonymous: to the login page
