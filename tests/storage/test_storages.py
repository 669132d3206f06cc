"""The same checks on every storage: FileStorage, ZEO and RelStorage (PostgreSQL).

Each test gets a fresh, empty database from the ``storage_uri`` fixture and
runs the real application (``xueji_site.main``) on it.
"""
import contextlib
import datetime

import pytest
import transaction
from transaction.interfaces import NoTransaction
from pyramid.traversal import find_resource, resource_path
from ZODB.POSException import ConflictError

import xueji_site
from xueji_site.kernel import attachments, content, crypto
from xueji_site.status import changes as workflow
from xueji_site.kernel.root import get_site

from ..conftest import RECORD_FORM, Browser, add_user, base_settings, build_tree, open_site, student_values
from xueji_site.kernel.root import database, databases

pytestmark = pytest.mark.storage

PUPIL_A_ID = "110105201703120038"  # the pupil build_tree puts in class_a
PUPIL_A_NAME = "李明"
PUPIL_B_ID = "110108201705060023"


@contextlib.contextmanager
def running_app(key_file, uri):
    """The real WSGI app on ``uri``; its databases are closed however the block ends."""
    app = xueji_site.main({}, **base_settings(key_file, uri))
    try:
        yield app
    finally:
        for db in databases(app.registry).values():
            db.close()


@contextlib.contextmanager
def two_connections(app):
    """Two connections to the app's database, each with its own transaction manager."""
    db = database(app.registry)
    opened = []
    try:
        for _ in range(2):
            tm = transaction.TransactionManager(explicit=True)
            conn = db.open(transaction_manager=tm)
            opened.append((tm, conn))
            tm.begin()
        yield [(tm, get_site(conn)) for tm, conn in opened]
    finally:
        for tm, conn in opened:
            try:
                tm.abort()
            except NoTransaction:  # already committed or aborted
                pass
            conn.close()


def _tree_paths(app):
    with open_site(app) as site:
        nodes = build_tree(site, app.registry)
    return {key: resource_path(node) for key, node in nodes.items()}


def test_tree_catalog_and_audit_survive_a_restart(storage_uri, key_file):
    with running_app(key_file, storage_uri) as app:
        paths = _tree_paths(app)
        with open_site(app) as site:
            audit_keys = list(site.audit.entries.keys())
            assert len(site.audit) == len(audit_keys) >= len(paths)

    with running_app(key_file, storage_uri) as app:
        with open_site(app) as site:
            for key, path in paths.items():
                node = find_resource(site, path)
                assert resource_path(node) == path, key
            pupil = find_resource(site, paths["pupil_a"])
            assert pupil.name == PUPIL_A_NAME
            assert pupil.id_number == PUPIL_A_ID           # opens with the key
            assert pupil.registry_no == "G" + PUPIL_A_ID
            assert len(find_resource(site, paths["class_a"])) == 1

            catalog = site.catalog
            students = [site.docmap[d] for d in catalog["content_type"].applyEq("Student")]
            assert sorted(s.name for s in students) == sorted([PUPIL_A_NAME, "王芳"])
            assert len(catalog["content_type"].applyEq("Bureau")) == 3
            assert len(catalog["content_type"].applyEq("School")) == 2
            blind = crypto.keyring().blind("id", PUPIL_A_ID)
            found = [site.docmap[d] for d in catalog["hashes"].applyEq(blind)]
            assert [resource_path(s) for s in found] == [paths["pupil_a"]]
            under_a = {resource_path(site.docmap[d])
                       for d in catalog["ancestors"].applyEq(paths["school_a"])}
            assert under_a == {paths["school_a"], paths["class_a"], paths["pupil_a"]}

            assert list(site.audit.entries.keys()) == audit_keys
            assert len(site.audit) == len(audit_keys)
            created = {e.path for e in site.audit.newest(lambda e: e.action == "create", limit=100)}
            assert set(paths.values()) <= created


def test_login_and_view_a_record_is_audited(storage_uri, key_file):
    with running_app(key_file, storage_uri) as app:
        with open_site(app) as site:
            nodes = build_tree(site, app.registry)
            add_user(site, "admin", "sysadmin")
            pupil_path = resource_path(nodes["pupil_a"])

        browser = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1",
                                              "HTTP_ACCEPT_LANGUAGE": "zh-CN"})
        browser.login("admin")
        page = browser.get(pupil_path, status=200)
        assert PUPIL_A_NAME in page.text

        with open_site(app) as site:
            views = site.audit.newest(lambda e: e.action == "view-record", limit=10)
        assert [(e.path, e.login, e.address, e.result) for e in views] == [
            (pupil_path, "admin", "127.0.0.1", "ok")]


def test_concurrent_adds_to_one_class_both_commit(storage_uri, key_file):
    with running_app(key_file, storage_uri) as app:
        paths = _tree_paths(app)
        with open_site(app) as site:
            audit_before = len(site.audit)

        newcomers = [("110105201704010015", "赵一"), ("110105201708150025", "钱二")]
        with two_connections(app) as pair:
            added = []
            for (tm, site), (id_number, name) in zip(pair, newcomers):
                klass = find_resource(site, paths["class_a"])
                assert len(klass) == 1  # each sees only the original pupil
                pupil = content.create("Student", klass, student_values(id_number, name, "1"),
                                       app.registry)
                added.append(pupil.__name__)
            for tm, _site in pair:
                tm.commit()  # the second resolves against the first

        with open_site(app) as site:
            klass = find_resource(site, paths["class_a"])
            assert len(klass) == 3
            assert len(list(klass.keys())) == 3
            assert set(added) <= set(klass.keys())
            assert sorted(klass[key].name for key in added) == sorted(n for _i, n in newcomers)
            assert len(site.catalog["content_type"].applyEq("Student")) == 4
            assert len(site.catalog["parent"].applyEq(paths["class_a"])) == 3
            assert len(site.audit) == audit_before + 2


def test_concurrent_edits_of_one_field_conflict(storage_uri, key_file):
    with running_app(key_file, storage_uri) as app:
        paths = _tree_paths(app)
        with two_connections(app) as pair:
            (tm1, site1), (tm2, site2) = pair
            first = find_resource(site1, paths["pupil_a"])
            second = find_resource(site2, paths["pupil_a"])
            first.name = "李明一"
            second.name = "李明二"
            tm1.commit()
            with pytest.raises(ConflictError) as caught:
                tm2.commit()
            assert caught.value.oid == second._p_oid
            tm2.abort()

        with open_site(app) as site:
            assert find_resource(site, paths["pupil_a"]).name == "李明一"


# Issue 20 (5): what else is sealed, each with a value that cannot occur by chance.
GUARDIAN_ID = "110105198001010016"
EMAIL = "li.ming.parent@example.test"
PHOTO = b"\xff\xd8\xff\xfe\x00\x14XUEJI-PHOTO-AT-REST\xff\xd9"
SCAN = b"%PDF-1.4\n% XUEJI-SCAN-AT-REST\n%%EOF\n"
TOTP = "JBSWY3DPEHPK3PXPXUEJITOTPATREST2"


def _more_sensitive_data(site, registry):
    """The guardian's ID, an e-mail, health, a photo, a scan on a request and a TOTP secret."""
    pupil = site.docmap[next(iter(site.catalog["content_type"].applyEq("Student")))]
    content.modify(pupil, {"guardian_name": "李建国", "guardian_id_number": GUARDIAN_ID, "email": EMAIL,
                           "health": "20"}, registry)
    pupil.set_photo(PHOTO)
    user = add_user(site, "reg.rest", "school_registrar", at=pupil.__parent__.__parent__)
    user.set_second_factor(TOTP, 0)
    change = workflow.start("suspend", pupil, user, "因病休学", registry=registry,
                            starts_on=datetime.date(2026, 9, 1), ends_on=datetime.date(2027, 7, 1))
    attachments.attach(change, "证明.pdf", SCAN, user)
    return pupil.docid


def test_no_sensitive_field_in_clear_at_rest(storage_uri, key_file):
    with running_app(key_file, storage_uri) as app:
        with open_site(app) as site:
            build_tree(site, app.registry)
        with open_site(app) as site:
            docid = _more_sensitive_data(site, app.registry)
        with open_site(app) as site:  # the data went in, readable with the key
            pupils = [site.docmap[d] for d in site.catalog["content_type"].applyEq("Student")]
            assert sorted(p.id_number for p in pupils) == sorted([PUPIL_A_ID, PUPIL_B_ID])
            pupil = site.docmap[docid]
            assert (pupil.guardian_id_number, pupil.email, pupil.health, pupil.photo()) == (
                GUARDIAN_ID, EMAIL, "20", PHOTO)
            assert workflow.open_change_of(pupil).attachments[0].data() == SCAN
            assert site.principals.by_login_name("reg.rest").totp_secret == TOTP
            state = pupil.__getstate__()
            assert "health" not in state and state.get("_sealed_health")  # a code: checked in the state

    raw = storage_uri.raw_bytes()
    # The read must be able to fail: the pupil's name is stored in clear.
    assert PUPIL_A_NAME.encode("utf-8") in raw
    assert "朝阳实验小学".encode("utf-8") in raw
    for id_number in (PUPIL_A_ID, PUPIL_B_ID):
        for secret in (id_number, "G" + id_number):
            for encoding in ("ascii", "utf-16-le", "utf-32-le"):
                assert secret.encode(encoding) not in raw, (secret, encoding)
    # the phone and the address of the record (build_tree fills them from RECORD_FORM)
    for secret in (RECORD_FORM["phone"], RECORD_FORM["current_address"], "光华路", GUARDIAN_ID, EMAIL, TOTP,
                   "XUEJI-PHOTO-AT-REST", "XUEJI-SCAN-AT-REST"):
        for encoding in ("utf-8", "utf-16-le", "utf-32-le"):
            assert secret.encode(encoding) not in raw, (secret, encoding)
