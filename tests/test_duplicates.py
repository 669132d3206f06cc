"""Possible duplicates without ID numbers: found from the index, merged with nothing lost."""
import datetime

from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import content
from xueji_site.record import duplicates
from .conftest import Browser, RECORD_FORM, add_user, build_tree, open_site, resolve


def _no_id(name, registry_no):
    return dict(RECORD_FORM, name=name, gender="2", birth_date=datetime.date(2017, 6, 1), ethnicity="01",
                id_type="A", id_number="", registry_no=registry_no, guardian_name="陈父",
                guardian_id_number="110105198001010016")


def test_duplicates_are_grouped_scoped_and_merged(app):
    with open_site(app) as site:
        registry = get_current_registry()
        n = build_tree(site, registry)
        first = content.create("Student", n["class_a"], _no_id("陈小雨", "L110105201706011234"), registry)
        second = content.create("Student", n["class_a"], _no_id("陈小雨", "L110105201706015678"), registry)
        content.create("FamilyMember", second, {"name": "陈母", "relation": "12"}, registry)
        content.create("Student", n["class_b"], _no_id("陈小雨", "L110108201706019999"), registry)  # school B
        add_user(site, "reg", "school_registrar", at=n["school_a"])
        add_user(site, "reg_b", "school_registrar", at=n["school_b"])
        assert len(site.duplicate_keys) == 1
        keep, drop = first.docid, second.docid
    reg = Browser(app)
    reg.login("reg")
    page = reg.get("/110000/110105/2111000001/duplicates")
    assert page.text.count("陈小雨 ·") == 4  # two records of school A, in two selects; not school B's
    assert "海淀" not in page.text
    form = [f for f in page.forms.values() if "keep" in f.fields][0]
    form["keep"], form["drop"] = str(keep), str(drop)
    merged = form.submit().follow()
    assert "已合并" in merged.text and "陈母" in merged.text
    with open_site(app) as site:
        survivor = site.docmap[keep]
        assert drop not in site.docmap and len(resolve(site, "/110000/110105/2111000001/2024-03")) == 2
        assert [e[3] for e in survivor.history.values()].count("create") == 2  # both histories kept
        assert "merged" in [e[3] for e in survivor.history.values()]
        assert survivor.registry_no == "L110105201706011234"
        assert site.audit.newest(lambda e: e.action == "merge")


def test_person_key_needs_name_and_birth_date():
    assert duplicates.person_key("", datetime.date(2017, 1, 1), "x") is None
    assert duplicates.person_key("王", datetime.date(2017, 1, 1), "父") == duplicates.person_key(
        " 王 ", datetime.date(2017, 1, 1), "父")
