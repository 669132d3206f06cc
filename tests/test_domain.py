"""Unit tests of the domain core with real objects: containers, the tree's
derived values, ID rules, sealed fields, events into catalog and audit, evolve."""
import datetime

import pytest
import transaction
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import content, crypto, evolve, security
from xueji_site.standards import idnumbers
from xueji_site.kernel.folder import Container, NameError_
from xueji_site.tree.nodes import Bureau, School, SchoolClass, school_year
from xueji_site.record.models import Student
from .conftest import add_user, build_tree, open_site


def test_container_basics():
    box = Container()
    child = Container()
    box.add("a-1", child, send_events=False)
    assert len(box) == 1 and "a-1" in box and box["a-1"] is child and child.__parent__ is box
    for bad in ("", "../x", "a/b", "_private", "@@view", "x" * 80, None, "空格 名"):
        with pytest.raises(NameError_):
            box.add(bad, Container(), send_events=False)
    with pytest.raises(NameError_):
        box.add("a-1", Container(), send_events=False)
    box.remove("a-1", send_events=False)
    assert len(box) == 0 and bool(box)


def test_derived_values():
    assert Bureau("110000").level == "province" and Bureau("110100").level == "city"
    assert Bureau("110105").level == "county" and Bureau("110105").title == "朝阳区"
    school = School("3411000001", "四中")
    assert school.level == "senior" and school.category == "34"
    klass = SchoolClass(2024, 3)
    school.add("2024-03", klass, send_events=False)
    assert klass.grade(datetime.date(2024, 9, 1)) == 10
    assert klass.grade(datetime.date(2025, 8, 31)) == 10
    assert klass.grade(datetime.date(2026, 10, 1)) == 12
    assert klass.grade(datetime.date(2027, 9, 1)) is None
    assert school_year(datetime.date(2026, 1, 5)) == 2025


@pytest.mark.parametrize("number,reason", [
    ("110105201703120039", "checksum"), ("11010520170312003", "length"),
    ("11010520171312003X", "checksum"), ("990105201703120031", "date-or-place"),
])
def test_resident_id_rejections(number, reason):
    with pytest.raises(idnumbers.IdError) as caught:
        idnumbers.validate_resident_id(number)
    assert caught.value.reason == reason


def test_resident_id_rules():
    assert idnumbers.validate_resident_id(" 11010519491231002x ") == "11010519491231002X"
    assert idnumbers.gender_of("110105201703120038") == "1"
    assert idnumbers.upgrade_15("110105491231002") == "11010519491231002X"
    future = "110105" + (datetime.date.today() + datetime.timedelta(days=400)).strftime("%Y%m%d") + "001"
    from stdnum.cn import ric
    future += ric.calc_check_digit(future + "0")
    with pytest.raises(idnumbers.IdError) as caught:
        idnumbers.validate_resident_id(future)
    assert caught.value.reason == "future"
    assert idnumbers.mask("110105201703120038") == "1101**********0038"


def test_registry_numbers():
    j = idnumbers.make_j_number("110105", datetime.date(2017, 3, 12), 5)
    assert idnumbers.validate_registry_no(j) == j
    assert idnumbers.validate_registry_no("L11010520170312" + "4821")
    for bad in ("G110105201703120039", "X110105201703120038", "L1101052017131248 ", "J11010520170312005Y"):
        with pytest.raises(idnumbers.IdError):
            idnumbers.validate_registry_no(bad)
    for bad, reason in (("2111000001x", "school-format"), ("2911000001", "school-category"),
                        ("2199000001", "school-province")):
        with pytest.raises(idnumbers.IdError) as caught:
            idnumbers.validate_school_code(bad)
        assert caught.value.reason == reason


def test_sealed_fields_and_blind_index():
    pupil = Student()
    pupil.id_number = "110105201703120038"
    raw = pupil._sealed_id_number
    assert b"110105201703120038" not in raw and pupil.id_number == "110105201703120038"
    assert pupil.id_hash == crypto.keyring().blind("id", "110105201703120038")
    other = Student()
    other.id_number = "110105201703120038"
    assert other._sealed_id_number != raw  # a fresh nonce each time
    with pytest.raises(Exception):  # a ciphertext moved to another field does not open
        crypto.keyring().open("registry_no", raw)
    another_key = crypto.KeyRing(b"k" * 32)
    with pytest.raises(Exception):
        another_key.open("id_number", raw)


def test_events_feed_catalog_and_audit_through_move_and_remove(app):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        pupil = nodes["pupil_a"]
        key = pupil.__name__
        nodes["class_a"].move(key, nodes["class_b"])
        catalog = site.catalog
        assert set(catalog["parent"].applyEq("/110000/110108/2111000002/2024-01")) >= {pupil.docid}
        assert pupil.docid not in set(catalog["ancestors"].applyEq("/110000/110105"))
        moves = site.audit.newest(lambda e: e.action == "move")
        assert moves and moves[0].path.endswith("/2024-01/" + key)
        nodes["class_b"].remove(key)
        assert pupil.docid is None
        assert not list(catalog["hashes"].applyEq(crypto.keyring().blind("id", "110105201703120038")))
        assert site.audit.newest(lambda e: e.action == "delete")


def test_create_refuses_wrong_containment(app):
    with open_site(app) as site:
        with pytest.raises(ValueError):
            content.create("Student", site, {}, get_current_registry())
        transaction.abort()


def test_set_local_roles_fires_event_and_tracks_places(app):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        user = add_user(site, "hana")
        security.set_local_roles(nodes["class_a"], user.userid, ["teacher"], user=user)
        assert list(user.places) == [nodes["class_a"]]
        assert security.permits(user, nodes["pupil_a"], "view")
        security.set_local_roles(nodes["class_a"], user.userid, [], user=user)
        assert list(user.places) == []
        assert not security.permits(user, nodes["pupil_a"], "view")
        assert len(site.audit.newest(lambda e: e.action == "roles" and "hana" not in e.login)) >= 2
        with pytest.raises(ValueError):
            security.set_local_roles(nodes["class_a"], user.userid, ["pope"])


def test_set_acl_overrides_type_acl_and_is_audited(app):
    from pyramid.authorization import DENY_ALL, Allow
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        registrar = add_user(site, "ivan", "school_registrar", at=nodes["school_a"])
        assert security.permits(registrar, nodes["pupil_a"], "edit")
        security.set_acl(nodes["pupil_a"], [(Allow, "role:school_registrar", ("view", "view-record")), DENY_ALL])
        assert not security.permits(registrar, nodes["pupil_a"], "edit")
        assert security.permits(registrar, nodes["pupil_a"], "view-record")
        assert site.audit.newest(lambda e: e.action == "set-acl")


def test_evolve_runs_pending_steps_once(app):
    ran = []
    steps = evolve.steps_of(app.registry)
    steps["9999-test-step"] = lambda site: ran.append(site)
    try:
        with open_site(app) as site:
            done = evolve.run(site, app.registry, commit=False)
            assert done == ["9999-test-step"] and len(ran) == 1
            assert "9999-test-step" in site.evolved
            assert evolve.run(site, app.registry, commit=False) == []
    finally:
        del steps["9999-test-step"]
