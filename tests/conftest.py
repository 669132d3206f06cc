"""Shared fixtures: the real application on an in-memory ZODB, logged-in clients,
and helpers that put users and nodes into the tree through the real code paths."""
import contextlib
import re

import pytest
import transaction
import webtest
from pyramid_mailer import get_mailer

from xueji_site.kernel import content, crypto, security
from xueji_site.kernel.root import ROOT_KEY, close_databases, ensure_site
from xueji_site.kernel.root import database, databases

PASSWORD = "Correct-Horse-42x"
# The second factor every test user holding a role that requires one is enrolled with
# (add_user), so that Browser.login can answer the code prompt like a phone would.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(scope="session")
def key_file(tmp_path_factory):
    return str(crypto.create_key_file(str(tmp_path_factory.mktemp("keys") / "xueji.key")))


@pytest.fixture(scope="session", autouse=True)
def _keyring(key_file):
    crypto.install(crypto.load_key_file(key_file))


def base_settings(key_file, uri="memory://"):
    return {
        "zodbconn.uri": uri,
        "xueji.key_file": key_file,
        "xueji.session_secret": "test-secret-" + "x" * 40,
        "xueji.secure_cookies": "false",
        "xueji.bcrypt_rounds": "4",
        "xueji.mailer": "memory",  # pyramid_mailer's outbox, for the tests to read
        "retry.attempts": "3",
    }


@pytest.fixture
def settings(key_file):
    return base_settings(key_file)


@pytest.fixture(scope="session")
def _shared_app(key_file):
    """The application with the base settings, configured once for the session:
    its views, compiled templates and registrations are shared, its database is
    not (``app`` gives each test a fresh one)."""
    from xueji_site import main
    wsgi = main({}, **base_settings(key_file))
    yield wsgi
    close_databases(wsgi.registry)


# What the application keeps on its registry between requests, which a test
# must not inherit from the one before: rate limiters and captcha counters, the
# public look-ups' audit buffer (bound to a database).
PER_DATABASE = ("xueji_rate_limiters", "xueji_lookup_audit", "xueji_captcha_counter", "xueji_captcha_used")


def _fresh_database(wsgi):
    """A new, empty in-memory database with its site, put where the app finds its own."""
    from ZODB import DB
    from zodburi import resolve_uri
    registry = wsgi.registry
    buffer = registry.__dict__.get("xueji_lookup_audit")
    if buffer is not None:
        buffer.flush()
    for name in PER_DATABASE:
        registry.__dict__.pop(name, None)
    outbox = getattr(get_mailer(registry), "outbox", None)
    if outbox is not None:
        del outbox[:]
    factory, options = resolve_uri("memory://")
    db = DB(factory(), **options)
    old = databases(registry).get("")
    databases(registry)[""] = db
    ensure_site(db, registry)
    if old is not None:
        old.close()
    return db


@pytest.fixture
def app(settings, key_file, _shared_app):
    """The real application on an in-memory ZODB of its own. With the base settings
    it is the session's application on a fresh database (configuring it again for
    each test would compile every template again); other settings build their own."""
    if settings == base_settings(key_file):
        _fresh_database(_shared_app)
        yield _shared_app
        return
    from xueji_site import main
    wsgi = main({}, **settings)
    yield wsgi
    close_databases(wsgi.registry)


@contextlib.contextmanager
def setting(app, name, text):
    """Run with one declared setting changed (the app parses settings once, at start),
    then put it back: the session's application is shared between tests."""
    from xueji_site.kernel import settings as xueji_settings
    registry = app.registry
    before = registry.xueji_settings[name]
    registry.xueji_settings[name] = xueji_settings.declared(registry)[name].parse(text)
    try:
        yield
    finally:
        registry.xueji_settings[name] = before


class Browser(webtest.TestApp):
    """A webtest client that can log in through the real form."""

    def login(self, login, password=PASSWORD, status=303):
        form = self.get("/login").forms["login-form"]
        form["login"] = login
        form["password"] = password
        response = form.submit("submit", status=status)
        if status == 303 and response.location.endswith("/totp"):
            response = self.answer_totp(login)
        return response

    def answer_totp(self, login, status=303):
        """Type the current code, as the enrolled phone shows it. The replay guard is
        reset first: tests log one account in several times within 30 seconds."""
        import pyotp
        with open_site(self.app) as site:
            site.principals.by_login_name(login).totp_last_step = 0
        form = self.get("/totp").forms["totp-form"]
        form["code"] = pyotp.TOTP(TOTP_SECRET).now()
        return form.submit("verify", status=status)

    def logout(self):
        page = self.get("/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return self.post("/logout", {"csrf_token": token}, status=303)


@pytest.fixture
def browser(app):
    return Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-CN"})


@contextlib.contextmanager
def open_site(app):
    """The site in a fresh connection of the app's database; commits on success."""
    from pyramid.threadlocal import manager
    db = database(app.registry)
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    manager.push({"registry": app.registry, "request": None})  # events reach the app's subscribers
    tm.begin()
    try:
        yield conn.root()[ROOT_KEY]
        tm.commit()
    except BaseException:
        tm.abort()
        raise
    finally:
        manager.pop()
        conn.close()


def add_user(site, login, role=None, at=None, password=PASSWORD, must_change=False):
    user = site.principals.add_user(login, login.title(), password=password, must_change=must_change)
    if role in ("sysadmin", "security_admin", "bureau_admin"):
        user.set_second_factor(TOTP_SECRET, 0)
    if role:
        node = at if at is not None else site
        security.set_local_roles(node, user.userid, (role,), registry=_registry(), user=user)
    return user


def _registry():
    from pyramid.threadlocal import get_current_registry
    return get_current_registry()


def resolve(site, path):
    node = site
    for part in [p for p in path.split("/") if p]:
        node = node[part]
    return node


def build_tree(site, registry):
    """Two schools in two counties of one province, a class in each, a pupil in each."""
    bj = content.create("Bureau", site, {"code": "110000", "name": "北京市教育委员会"}, registry)
    cy = content.create("Bureau", bj, {"code": "110105", "name": "朝阳区教育委员会"}, registry)
    hd = content.create("Bureau", bj, {"code": "110108", "name": "海淀区教育委员会"}, registry)
    a = content.create("School", cy, {"code": "2111000001", "name": "朝阳实验小学", "address": "", "phone": ""}, registry)
    b = content.create("School", hd, {"code": "2111000002", "name": "海淀第一小学", "address": "", "phone": ""}, registry)
    ca = content.create("SchoolClass", a, {"cohort": 2024, "number": 3, "name": ""}, registry)
    cb = content.create("SchoolClass", b, {"cohort": 2024, "number": 1, "name": ""}, registry)
    pa = content.create("Student", ca, student_values("110105201703120038", "李明", "1"), registry)
    pb = content.create("Student", cb, student_values("110108201705060023", "王芳", "2"), registry)
    return {"province": bj, "county_a": cy, "county_b": hd, "school_a": a, "school_b": b,
            "class_a": ca, "class_b": cb, "pupil_a": pa, "pupil_b": pb}


# The record's other required fields, as a form posts them.
RECORD_FORM = {
    "birthplace": "110105", "native_place": "110105", "nationality": "CHN", "hmt_status": "00",
    "health": "10", "household_place": "110105", "household_type": "2", "enrolled_on": "202409",
    "enrolment_mode": "11", "attendance_mode": "1", "current_address": "北京市朝阳区光华路1号",
    "mailing_address": "北京市朝阳区光华路1号", "home_address": "北京市朝阳区光华路1号",
    "phone": "13800138000", "postcode": "100020", "left_behind": "0",
}


def student_form(**values):
    """Everything the student form needs, as strings, with ``values`` on top."""
    form = dict(RECORD_FORM, name="李明", gender="1", birth_date="2017-03-12", ethnicity="01",
                id_type="1", id_number="110105201703120038")
    form.update(values)
    return form


def valid_id(body17):
    """A resident ID number: the 17 digits given plus their GB 11643 check character."""
    from stdnum.cn import ric
    return body17 + ric.calc_check_digit(body17 + "0")


def student_values(id_number, name, gender):
    """An appstruct for content.create: the form's values, deserialised."""
    from xueji_site.standards.idnumbers import birth_date_of
    values = dict(RECORD_FORM, name=name, gender=gender, birth_date=birth_date_of(id_number), ethnicity="01",
                  id_type="1", id_number=id_number, registry_no="G" + id_number)
    return values


@pytest.fixture(scope="session")
def registrations():
    """Every feature's registrations, without a database or views (xueji_site.registrations)."""
    from xueji_site import registrations as make
    return make()


@pytest.fixture
def current_registrations(registrations):
    """``registrations`` as the current registry, for code that reads it outside a request."""
    from pyramid.threadlocal import manager
    manager.push({"registry": registrations, "request": None})
    yield registrations
    manager.pop()
