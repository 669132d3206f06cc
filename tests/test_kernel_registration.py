"""A record type registered from a test package alone (tests/throwaway: a class,
a schema and one registration) gets everything the kernel gives a type: it is
denied by default to other schools, appears in the field inventory and the
privacy notice, enters the pupil's history, needs an export approval, and
follows the graduate into the archive. No kernel file names it."""
import pathlib

import pytest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.graduates import archive, graduation
from xueji_site.kernel import content, history, permissions as P, security
from xueji_site.kernel.subrecords import collection_of

from .conftest import Browser, add_user, base_settings, build_tree, open_site, resolve

KERNEL = pathlib.Path(__file__).resolve().parents[1] / "xueji_site" / "kernel"


@pytest.fixture
def app(key_file):
    from xueji_site import main
    from xueji_site.kernel.root import close_databases
    settings = dict(base_settings(key_file), **{"xueji.includes": "tests.throwaway",
                                                "xueji.export_approval_rows": "1"})
    wsgi = main({}, **settings)
    yield wsgi
    close_databases(wsgi.registry)


@pytest.fixture
def tree(app):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "rega", "school_registrar", at=nodes["school_a"])
        add_user(site, "regb", "school_registrar", at=nodes["school_b"])
        return {name: resource_path(node) for name, node in nodes.items()}


def _added(browser, pupil, type_name, **values):
    form = browser.get(pupil + "/add?type=" + type_name).forms["xueji-form"]
    for key, value in values.items():
        form[key] = value
    return form.submit("save", status=303)


def test_no_kernel_file_names_the_throwaway_types():
    for path in KERNEL.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "Remark" not in text and "Badge" not in text and "throwaway" not in text, path


def test_added_through_the_generic_form_shown_on_the_record_and_denied_to_another_school(app, tree):
    a = Browser(app)
    a.login("rega")
    _added(a, tree["pupil_a"], "Remark", topic="纪律", detail="上课认真")
    _added(a, tree["pupil_a"], "Badge", name="环保小卫士", awarded_by="少先队")
    with open_site(app) as site:
        pupil = resolve(site, tree["pupil_a"])
        [remark] = collection_of(pupil, "Remark").values()
        [badge] = [c for c in pupil.values() if c.content_type == "Badge"]
        remark_url, badge_url = resource_path(remark), resource_path(badge)
        assert remark_url.startswith(tree["pupil_a"] + "/@Remark/")
        assert remark.docid is None and badge.docid is not None  # a collection is not catalogued
    record = a.get(tree["pupil_a"])
    assert "评语" in record.text and "纪律" in record.text and "环保小卫士" in record.text
    assert a.get(remark_url).status_int == 200 and "上课认真" in a.get(remark_url).text

    b = Browser(app)
    b.login("regb")
    for url in (remark_url, badge_url, tree["pupil_a"] + "/@Remark", remark_url + "/edit"):
        assert b.get(url, expect_errors=True).status_int == 403, url
    b.get(tree["pupil_a"] + "/add?type=Remark", status=403)
    with open_site(app) as site:  # and nobody the registration does not name: default deny
        teacher = add_user(site, "t", "teacher", at=resolve(site, tree["class_a"]))
        remark = next(iter(collection_of(resolve(site, tree["pupil_a"]), "Remark").values()))
        assert not security.permits(teacher, remark, P.VIEW)
        assert security.permits(site.principals.by_login_name("rega"), remark, P.EDIT)


def test_in_the_field_inventory_and_the_privacy_notice(app):
    types = {ct.name: ct for ct in content.all_types(app.registry)}
    assert set(types["Remark"].inventory) == {"topic", "detail"}
    assert types["Remark"] in app.registry.content.personal_types()
    table = Browser(app).get("/privacy").html.find("table", id="field-uses").get_text()
    assert "评语" in table and "话题" in table and "详情" in table and "徽章" in table and "颁发人" in table


def test_changes_enter_the_pupils_history_masked_where_sensitive(app, tree):
    a = Browser(app)
    a.login("rega")
    _added(a, tree["pupil_a"], "Remark", topic="纪律", detail="上课认真")
    with open_site(app) as site:
        remark = next(iter(collection_of(resolve(site, tree["pupil_a"]), "Remark").values()))
        remark_url = resource_path(remark)
    form = a.get(remark_url + "/edit").forms["xueji-form"]
    form["detail"] = "课堂发言积极"
    form.submit("save", status=303)
    with open_site(app) as site:
        pupil = resolve(site, tree["pupil_a"])
        kinds = [entry[3] for entry in history.entries(pupil)]
        assert kinds[:2] == ["modify-part", "add-part"]
        [modified] = [e for e in history.entries(pupil) if e[3] == "modify-part"]
        assert modified[2] == "rega" and modified[4][0][0] == "detail"
        assert "课堂发言积极" not in repr(modified) and "上课认真" not in repr(modified)  # sensitive: masked
        assert site.audit.newest(lambda e: e.action == "modify" and e.path == remark_url)


def test_an_export_of_it_needs_an_approval(app, tree):
    a = Browser(app)
    a.login("rega")
    for topic in ("纪律", "学习"):
        _added(a, tree["pupil_a"], "Remark", topic=topic, detail="好")
    refused = a.get(tree["pupil_a"] + "/export?type=Remark&format=csv", status=403)
    assert "导出需要批准" in refused.text
    a.get(tree["pupil_a"] + "/export?type=Remark&format=csv&kind=external", status=400)  # no external columns
    with open_site(app) as site:
        [denied] = site.audit.newest(lambda e: e.action == "export" and e.result == "denied", limit=1)
        assert dict(denied.detail)["type"] == "Remark"


def test_it_follows_the_graduate_into_the_archive_read_only(app, tree):
    a = Browser(app)
    a.login("rega")
    _added(a, tree["pupil_a"], "Remark", topic="毕业评语", detail="品学兼优")
    _added(a, tree["pupil_a"], "Badge", name="优秀毕业生", awarded_by="学校")
    with open_site(app) as site:
        registry = get_current_registry()
        [(pupil, _number)] = graduation.graduate(resolve(site, tree["school_a"]), 2024)
        record = archive.archive_pupil(pupil, registry)
        assert sorted(record.parts) == ["Badge", "Remark"]
        [remark] = record.parts["Remark"].values()
        [badge] = record.parts["Badge"]
        assert remark.detail == "品学兼优" and badge.name == "优秀毕业生"
        registrar = site.principals.by_login_name("rega")
        for part in (remark, badge):
            assert security.permits(registrar, part, P.VIEW_RECORD)
            assert not security.permits(registrar, part, P.EDIT) and not security.permits(registrar, part, P.DELETE)
