"""The console scripts, run as real processes against a temporary ini file and
FileStorage, then checked by opening the database afterwards."""
import configparser
import datetime
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import ZODB
import ZODB.FileStorage

from xueji_site.kernel import crypto, security
from xueji_site.standards.idnumbers import birth_date_of, gender_of, validate_resident_id
from xueji_site.kernel.root import ROOT_KEY

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "Script-Test-Pass-42"
SCHOOL_YEAR = "2024"  # pinned so that two runs agree whatever today's date


def write_ini(directory):
    """development.ini's [app:main], with the database and key under ``directory``."""
    source = configparser.ConfigParser(interpolation=None)
    source.read(REPO / "development.ini", encoding="utf-8")
    app = dict(source["app:main"])
    var = directory / "var"
    app.update({
        "zodbconn.uri": "file://%s/Data.fs?connection_pool_size=2&blobstorage_dir=%s/blobs" % (var, var),
        "xueji.key_file": str(var / "xueji.key"),
        "xueji.bcrypt_rounds": "4",
    })
    ini = configparser.ConfigParser(interpolation=None)
    ini["app:main"] = app
    path = directory / "test.ini"
    with open(path, "w", encoding="utf-8") as out:
        ini.write(out)
    return path


def script(name, *args):
    """Run a console script; return the CompletedProcess (text, never raises)."""
    exe = Path(sys.executable).parent / name
    command = [str(exe)] if exe.exists() else [
        sys.executable, "-m", "xueji_site.scripts." + name.split("-", 1)[1]]
    return subprocess.run(command + [str(a) for a in args], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONWARNINGS="ignore"))


@contextlib.contextmanager
def opened(directory, read_only=True):
    """The site in ``directory``'s FileStorage, with that database's key installed."""
    var = Path(directory) / "var"
    previous = crypto._current
    crypto.install(crypto.load_key_file(str(var / "xueji.key")))
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(var / "Data.fs"), read_only=read_only))
    conn = db.open()
    try:
        yield conn.root()[ROOT_KEY]
    finally:
        conn.close()
        db.close()
        crypto.install(previous)


def walk(node):
    for child in node.values():
        yield child
        if child.content_type != "Student":
            yield from walk(child)


def pupils(site):
    return [node for node in walk(site) if node.content_type == "Student"]


def password_file(directory, password=PASSWORD):
    path = directory / "password.txt"
    path.write_text(password + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    """An initialised site with 60 demo pupils (shared by the read-only checks)."""
    directory = tmp_path_factory.mktemp("demo")
    ini = write_ini(directory)
    assert script("xueji-init", ini).returncode == 0
    done = script("xueji-demo", ini, "--students", 60, "--seed", 1, "--school-year", SCHOOL_YEAR,
                  "--batch", 25)
    assert done.returncode == 0, done.stderr
    return directory, ini, done


# -- xueji-init ----------------------------------------------------------------

def test_init_creates_key_site_and_admin_once(tmp_path):
    ini = write_ini(tmp_path)
    first = script("xueji-init", ini, "--admin", "root")
    assert first.returncode == 0, first.stderr
    one_time = first.stdout.split("one-time password for root: ")[1].split()[0]
    key = tmp_path / "var" / "xueji.key"
    assert key.stat().st_mode & 0o777 == 0o600
    key_bytes = key.read_bytes()

    again = script("xueji-init", ini, "--admin", "root")
    assert again.returncode == 0, again.stderr
    assert "admin account exists" in again.stdout and "one-time password" not in again.stdout
    assert key.read_bytes() == key_bytes  # never overwritten

    with opened(tmp_path) as site:
        users = list(site.principals.users())
        assert [u.login for u in users] == ["root"]
        admin = users[0]
        assert admin.must_change_password
        assert admin.check_password(one_time)
        assert security.local_roles_of(site, admin.userid) == (security.SYSADMIN,)
        assert site in list(admin.places)
        grants = site.audit.newest(lambda e: e.action == "roles")
        assert grants and grants[0].userid == "system"


def test_init_takes_the_password_from_a_file_and_checks_it(tmp_path):
    ini = write_ini(tmp_path)
    weak = script("xueji-init", ini, "--password-file", password_file(tmp_path, "short"))
    assert weak.returncode == 2
    assert "password refused" in weak.stderr and "Traceback" not in weak.stderr
    assert not (tmp_path / "var").exists()  # refused before anything was made

    good = script("xueji-init", ini, "--password-file", password_file(tmp_path))
    assert good.returncode == 0, good.stderr
    assert "one-time password" not in good.stdout
    with opened(tmp_path) as site:
        admin = site.principals.by_login_name("admin")
        assert admin.check_password(PASSWORD) and admin.must_change_password


def test_scripts_explain_bad_arguments_without_traceback(tmp_path):
    missing = script("xueji-adduser", tmp_path / "nope.ini", "x1", "--role", "teacher", "--at", "/")
    assert missing.returncode == 3 and "config file not found" in missing.stderr
    ini = write_ini(tmp_path)
    uninitialised = script("xueji-demo", ini, "--students", 5)
    assert uninitialised.returncode == 3 and "run xueji-init first" in uninitialised.stderr
    bad = script("xueji-demo", ini, "--students", "many")
    assert bad.returncode == 2 and "not a whole number" in bad.stderr
    for result in (missing, uninitialised, bad):
        assert "Traceback" not in result.stderr
    helped = script("xueji-adduser", "--help")
    assert helped.returncode == 0 and "ZEO" in helped.stdout and "FileStorage" in helped.stdout


# -- xueji-adduser -------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (("--role", "janitor", "--at", "/"), "unknown role 'janitor'"),
    (("--role", "teacher", "--at", "/330000"), "cannot be granted at /330000, which is a Bureau"),
    (("--role", "bureau_admin", "--at", "/330000/999999"), "no such node"),
])
def test_adduser_refuses_with_a_message_and_changes_nothing(demo_site, args, message):
    directory, ini, _ = demo_site
    data = directory / "var" / "Data.fs"
    size = data.stat().st_size
    result = script("xueji-adduser", ini, "newcomer", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert data.stat().st_size == size
    with opened(directory) as site:
        assert site.principals.by_login_name("newcomer") is None


def test_adduser_creates_and_grants_at_a_class(tmp_path, demo_site):
    directory, ini, _ = demo_site
    with opened(directory) as site:
        klass = next(n for n in walk(site) if n.content_type == "SchoolClass")
        path = "/" + "/".join(
            [klass.__parent__.__parent__.__parent__.__parent__.__name__,
             klass.__parent__.__parent__.__parent__.__name__,
             klass.__parent__.__parent__.__name__, klass.__parent__.__name__, klass.__name__])
    args = ("--role", "head_teacher", "--at", path, "--title", "张老师",
            "--password-file", password_file(tmp_path))
    first = script("xueji-adduser", ini, "Zhang.Laoshi", *args)
    assert first.returncode == 0, first.stderr
    second = script("xueji-adduser", ini, "zhang.laoshi", *args)
    assert second.returncode == 0 and "already held" in second.stdout
    with opened(directory) as site:
        user = site.principals.by_login_name("zhang.laoshi")
        assert user.title == "张老师" and user.must_change_password
        assert user.check_password(PASSWORD)
        node = site
        for part in path.strip("/").split("/"):
            node = node[part]
        assert security.local_roles_of(node, user.userid) == (security.HEAD_TEACHER,)


def test_scripts_refuse_a_database_held_by_another_process(demo_site):
    directory, ini, _ = demo_site
    with opened(directory, read_only=False):
        result = script("xueji-adduser", ini, "late", "--role", "auditor", "--at", "/")
    assert result.returncode == 3
    assert "locked by another process" in result.stderr and "Traceback" not in result.stderr


# -- xueji-demo ----------------------------------------------------------------

def content_of(site):
    """Everything a seed determines, without the random record keys."""
    rows = []
    for student in pupils(site):
        rows.append((student.__parent__.__name__, student.__parent__.__parent__.__name__,
                     student.name, student.gender, student.birth_date, student.ethnicity,
                     student.id_number, student.registry_no))
    return sorted(rows)


def test_demo_is_deterministic_for_a_seed(tmp_path, demo_site):
    directory, _, _ = demo_site
    other = tmp_path / "other"
    other.mkdir()
    ini = write_ini(other)
    assert script("xueji-init", ini).returncode == 0
    assert script("xueji-demo", ini, "--students", 60, "--seed", 1,
                  "--school-year", SCHOOL_YEAR).returncode == 0
    with opened(directory) as site:
        first = content_of(site)
    with opened(other) as site:
        second = content_of(site)
    assert len(first) == 60
    assert first == second


def test_demo_pupils_have_valid_consistent_identities(demo_site):
    directory, _, _ = demo_site
    with opened(directory) as site:
        students = pupils(site)
        assert len(students) == 60
        for student in students:
            klass = student.__parent__
            school = klass.__parent__
            county = school.__parent__
            number = validate_resident_id(student.id_number)
            assert birth_date_of(number) == student.birth_date
            assert gender_of(number) == student.gender
            assert number[:6] == county.code
            assert student.registry_no == "G" + number
            assert school.code[2:4] == "33" and school.code[:2] in ("21", "31", "34")
            assert klass.grade(today=datetime.date(int(SCHOOL_YEAR), 10, 1))
            assert 1 <= len(student.name) <= 4
        assert len({s.id_number for s in students}) == 60
        assert site.catalog["content_type"].applyEq("Student").__len__() == 60


def test_demo_accounts_hold_one_role_each(demo_site):
    directory, _, done = demo_site
    assert "demo password: " in done.stdout
    with opened(directory) as site:
        expected = {"demo.province": ("Bureau", security.BUREAU_ADMIN),
                    "demo.county": ("Bureau", security.BUREAU_ADMIN),
                    "demo.principal": ("School", security.PRINCIPAL),
                    "demo.registrar": ("School", security.SCHOOL_REGISTRAR),
                    "demo.headteacher": ("SchoolClass", security.HEAD_TEACHER),
                    "demo.teacher": ("SchoolClass", security.TEACHER),
                    "demo.guardian": ("Student", security.GUARDIAN),
                    "demo.auditor": ("Site", security.AUDITOR),
                    "demo.secadmin": ("Site", security.SECURITY_ADMIN)}
        password = done.stdout.split("demo password: ")[1].split()[0]
        for login, (type_name, role) in expected.items():
            user = site.principals.by_login_name(login)
            assert login in done.stdout
            assert not user.must_change_password and user.check_password(password)
            [place] = list(user.places)
            assert place.content_type == type_name
            assert security.local_roles_of(place, user.userid) == (role,)
        assert site["330000"]["330100"].level == "city"


def test_demo_twice_adds_nothing(demo_site):
    directory, ini, _ = demo_site
    with opened(directory) as site:
        before = (len(pupils(site)), len(list(site.principals.users())))
    again = script("xueji-demo", ini, "--students", 60, "--seed", 1, "--school-year", SCHOOL_YEAR)
    assert again.returncode == 0 and "already present" in again.stdout
    other = script("xueji-demo", ini, "--students", 99, "--seed", 2)
    assert other.returncode == 0 and "nothing added" in other.stdout
    with opened(directory) as site:
        assert (len(pupils(site)), len(list(site.principals.users()))) == before


def test_demo_paused_then_continued_equals_one_run(tmp_path, demo_site):
    directory, _, _ = demo_site
    ini = write_ini(tmp_path)
    assert script("xueji-init", ini).returncode == 0
    args = ("--students", 60, "--seed", 1, "--school-year", SCHOOL_YEAR, "--batch", 25)
    paused = script("xueji-demo", ini, *args, "--max-batches", 1)
    assert paused.returncode == 0 and "paused after 1 batches" in paused.stdout
    with opened(tmp_path) as site:
        assert len(pupils(site)) == 25
    other = script("xueji-demo", ini, "--students", 60, "--seed", 2, "--school-year", SCHOOL_YEAR)
    assert other.returncode == 2 and "interrupted demo run" in other.stderr
    resumed = script("xueji-demo", ini, *args)
    assert resumed.returncode == 0 and "resuming" in resumed.stdout
    with opened(tmp_path) as site:
        continued = content_of(site)
        users = demo_logins(site)
    with opened(directory) as site:
        assert continued == content_of(site)
        assert users == demo_logins(site)


def demo_logins(site):
    return sorted(u.login for u in site.principals.users() if u.login.startswith(("demo.", "guardian")))


def test_demo_places_are_valid_for_every_birth_year_it_draws():
    """Each county code must be valid in GB/T 2260 (as stdnum knows it) for the births drawn."""
    import random
    from xueji_site.standards import divisions
    from xueji_site.scripts import demo
    rng = random.Random(0)
    year = int(SCHOOL_YEAR)
    oldest = demo.birth_window(year - 2, 10)[0].replace(year=year - 20)  # senior, late entry
    newest = demo.birth_window(year + 3, 1)[1]
    assert divisions.level_of(demo.PROVINCE) == "province"
    for city, counties in demo.CITIES:
        assert divisions.level_of(city) == "city" and divisions.is_known(city)
        for county in counties:
            assert county.startswith(city[:4]) and divisions.level_of(county) == "county"
            for born in (oldest, newest):
                validate_resident_id(demo.resident_id(rng, county, born, "2", set()),
                                     today=datetime.date(year + 10, 1, 1))


def test_demo_records_pass_the_record_schema(demo_site):
    """Every demo pupil, serialised and read back through the form's own schema, is valid:
    the demo holds complete, consistent records (not just valid ID numbers)."""
    import colander
    from xueji_site.schemas.student import student_schema
    directory, _, _ = demo_site
    with opened(directory) as site:
        problems = []
        for student in pupils(site):
            schema = student_schema(None, student, False)
            schema = schema.bind(request=None, context=student, adding=False)
            values = {node.name: getattr(student, node.name) for node in schema.children
                      if node.name != "csrf_token" and getattr(student, node.name) not in (None, "")}
            try:
                schema.deserialize(schema.serialize(values))
            except colander.Invalid as exc:
                problems.append((student.name, exc.asdict()))
        assert problems == []


def test_demo_has_an_exam_with_marks_for_the_grades_pages(demo_site):
    from xueji_site.grades import books
    directory, _ini, _done = demo_site
    with opened(directory) as site:
        [exam] = list(books.store(site).exams.values())
        [sheet] = list(exam.sheets.values())
        entered = [v for s in exam.subjects for v in sheet.column(s) if v != books.BLANK]
        assert exam.term == "%s-1" % SCHOOL_YEAR and len(entered) == len(exam.subjects) * len(sheet.pupils)
        assert books.CODE_VALUES["absent"] in sheet.column(sorted(exam.subjects)[-1])
        assert site.principals.by_login_name("demo.academic") is not None
