"""xueji-demo: fill a site with a realistic, synthetic province.

Everything goes through ``content.create`` and ``security.set_local_roles``,
so the catalog and the audit log see the demo data exactly as they would see
real data. The data is deterministic for a seed: one ``random.Random(seed)``
draws every name, date and number in a fixed order (record keys are random,
as in production, and are not part of the data).

Work is committed every --batch pupils and the connection cache is trimmed
after each commit, so memory stays bounded for 100,000 pupils. A run that
stops half-way can be started again with the same arguments: the plan is
replayed and what is already stored is skipped, so nothing is duplicated.
"""
import datetime
import random
import sys
import time
from dataclasses import dataclass, field

from persistent.mapping import PersistentMapping
from pyramid.traversal import resource_path

from xueji_site.grades import assignments, books, entry, marks
from xueji_site.grades import codes as grade_codes
from xueji_site.grades.registration import ACADEMIC_ADMIN
from xueji_site.kernel import content, security
from xueji_site.standards import divisions, idnumbers
from xueji_site.tree.nodes import SchoolClass, school_year as current_school_year
from xueji_site.kernel.root import ROOT_KEY
from xueji_site.kernel.users import hash_password

from . import common

MARKER = "xueji.demo"  # key in the ZODB root (beside the site) recording a demo run
DEMO_PASSWORD = "Xueji-Demo-2025!"

DESCRIPTION = """\
FOR DEVELOPMENT AND DEMONSTRATIONS ONLY: the accounts it makes share one published
password (%s unless --password-file is given).

Creates a synthetic province (浙江省, real GB/T 2260 codes) with city and county
bureaus, primary, junior and senior secondary schools with valid 学校标识码,
classes per cohort and N pupils with valid resident ID numbers, plus guardian
accounts for some pupils and one demo account per role. Deterministic for a seed.
Re-running with the same arguments resumes an interrupted run; once complete,
a second run adds nothing and prints the demo logins again.""" % DEMO_PASSWORD

# -- the place -----------------------------------------------------------------
# Codes valid for every birth year the demo draws (no county created after 2000).
PROVINCE = "330000"
CITIES = (
    ("330100", ("330102", "330106", "330108", "330127")),
    ("330200", ("330203", "330205", "330226")),
    ("330300", ("330302", "330304")),
)
COUNTIES = tuple(county for _city, counties in CITIES for county in counties)


def bureau_name(code):
    suffix = "教育厅" if divisions.level_of(code) == divisions.LEVEL_PROVINCE else "教育局"
    return divisions.name_of(code) + suffix


# -- schools -------------------------------------------------------------------
# category → (first grade, grades, classes per cohort, class size range, name ending)
LEVELS = {
    "21": (1, 6, (2, 4), (38, 46), "小学"),
    "31": (7, 3, (3, 6), (40, 48), "初级中学"),
    "34": (10, 3, (4, 8), (42, 50), "高级中学"),
}
CATEGORY_CYCLE = ("21", "31", "34", "21", "21", "31")
SCHOOL_NAMES = ("实验", "第一", "第二", "第三", "育才", "城南", "城北", "文澜", "求是",
                "春晖", "新华", "东方", "明德", "启航", "崇文", "中心")


@dataclass
class SchoolPlan:
    county: str
    code: str
    name: str
    classes: list = field(default_factory=list)  # (cohort, number, size)

    @property
    def category(self):
        return self.code[:2]


def plan_schools(rng, total, year):
    """Schools in county order, enough classes for ``total`` pupils (the last one trimmed)."""
    left, index, used_names = total, 0, set()
    while left > 0:
        county = COUNTIES[index % len(COUNTIES)]
        category = CATEGORY_CYCLE[index % len(CATEGORY_CYCLE)]
        school = SchoolPlan(county, _school_code(category, county, index),
                            _school_name(rng, county, category, used_names))
        left = _plan_classes(rng, school, year, left)
        index += 1
        yield school


def _school_code(category, county, index):
    """2 category + 2 province + 6 serial (county digits 3-6 and a running number)."""
    return "%s%s%s%02d" % (category, county[:2], county[2:], index // len(COUNTIES) + 1)


def _school_name(rng, county, category, used):
    for _attempt in range(100):
        name = divisions.name_of(county) + rng.choice(SCHOOL_NAMES) + LEVELS[category][4]
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError("ran out of school names")


def _plan_classes(rng, school, year, left):
    first, grades, per_cohort, sizes, _ending = LEVELS[school.category]
    classes = rng.randint(*per_cohort)
    for offset in range(grades):
        for number in range(1, classes + 1):
            if left <= 0:
                return 0
            size = min(rng.randint(*sizes), left)
            school.classes.append((year - offset, number, size))
            left -= size
    return left


# -- pupils --------------------------------------------------------------------

SURNAMES = (
    ("王", 71), ("李", 70), ("张", 67), ("刘", 54), ("陈", 48), ("杨", 31), ("赵", 23), ("黄", 22),
    ("周", 21), ("吴", 20), ("徐", 17), ("孙", 15), ("胡", 13), ("朱", 13), ("高", 12), ("林", 12),
    ("何", 12), ("郭", 12), ("马", 11), ("罗", 9), ("梁", 8), ("宋", 8), ("郑", 8), ("谢", 7),
    ("韩", 7), ("唐", 7), ("冯", 7), ("于", 6), ("董", 6), ("萧", 6), ("程", 6), ("曹", 6),
    ("袁", 5), ("邓", 5), ("许", 5), ("傅", 5), ("沈", 5), ("曾", 5), ("彭", 5), ("吕", 5),
    ("苏", 5), ("卢", 5), ("蒋", 5), ("蔡", 5), ("贾", 4), ("丁", 4), ("魏", 4), ("薛", 4),
    ("叶", 4), ("余", 4), ("潘", 4), ("杜", 4), ("戴", 4), ("夏", 4), ("钟", 4), ("汪", 4),
    ("田", 4), ("任", 4), ("姜", 4), ("范", 4), ("方", 4), ("石", 4), ("姚", 4), ("谭", 4),
    ("廖", 3), ("邹", 3), ("熊", 3), ("金", 3), ("陆", 3), ("郝", 3), ("孔", 3), ("白", 3),
    ("崔", 3), ("毛", 3), ("邱", 3), ("秦", 3), ("江", 3), ("顾", 3), ("侯", 3), ("邵", 3),
    ("孟", 3), ("章", 3), ("钱", 3), ("汤", 3), ("应", 2), ("楼", 2), ("俞", 2), ("童", 2),
    ("欧阳", 1), ("上官", 1), ("诸葛", 1),
)
GIVEN = {
    "1": "浩宇轩然俊杰博文泽辰睿铭明晨磊鹏昊天航伟强嘉恒志瑞凯涛斌毅翔一宸烨熙奕霖皓晟哲逸彬诚景锦乐",
    "2": "欣怡梓涵诗雨思佳悦可馨琪婷雅静萱晴妍若彤梦瑶芷语依诺安心楠颖慧敏莹璐蕾紫一子沐晓乐",
}
# GB 3304 codes; 畲族 (22) is the largest minority in Zhejiang.
ETHNICITIES = (("01", 940), ("22", 15), ("06", 10), ("15", 10), ("09", 6), ("03", 5),
               ("08", 5), ("12", 4), ("11", 3), ("02", 2))
LATE_ENTRY = 0.03  # share of pupils a year older than their cohort


class Weighted:
    """rng.choices with the cumulative weights computed once."""

    def __init__(self, pairs):
        self.values = [v for v, _w in pairs]
        self.cum = []
        total = 0
        for _v, weight in pairs:
            total += weight
            self.cum.append(total)

    def pick(self, rng):
        return rng.choices(self.values, cum_weights=self.cum)[0]


_SURNAMES = Weighted(SURNAMES)
_ETHNICITIES = Weighted(ETHNICITIES)


def chinese_name(rng, gender, surname=None):
    surname = surname or _SURNAMES.pick(rng)
    chars = GIVEN[gender]
    length = 2 if rng.random() < 0.7 else 1
    return surname + "".join(rng.choice(chars) for _ in range(length))


def birth_window(cohort, first_grade):
    """Pupils starting grade ``first_grade`` in September ``cohort`` were born in this span."""
    age = 6 + first_grade - 1  # six by 31 August for grade 1
    return datetime.date(cohort - age - 1, 9, 1), datetime.date(cohort - age, 8, 31)


def birth_date(rng, cohort, first_grade):
    start, end = birth_window(cohort, first_grade)
    if rng.random() < LATE_ENTRY:
        start, end = start.replace(year=start.year - 1), end.replace(year=end.year - 1)
    return start + datetime.timedelta(days=rng.randrange((end - start).days + 1))


def resident_id(rng, county, born, gender, used):
    """A valid, unused 18-digit number: county, birth date, sequence (odd: male), check."""
    while True:
        sequence = rng.randrange(500) * 2 + (1 if gender == "1" else 0)
        body = "%s%s%03d" % (county, born.strftime("%Y%m%d"), sequence)
        number = body + idnumbers.ric.calc_check_digit(body + "0")
        if number not in used:
            used.add(number)
            return number


def pupil(rng, county, cohort, first_grade, used):
    """(the pupil's fields, their surname) for ``content.create``."""
    gender = rng.choice("12")
    born = birth_date(rng, cohort, first_grade)
    number = resident_id(rng, county, born, gender, used)
    surname = _SURNAMES.pick(rng)
    values = {"name": chinese_name(rng, gender, surname), "gender": gender, "birth_date": born,
              "ethnicity": _ETHNICITIES.pick(rng), "id_type": "1", "id_number": number,
              "registry_no": idnumbers.registry_no_from_id(number)}
    values.update(record_details(rng, county, cohort, first_grade, surname, used))
    return values, surname


def guardian_id(rng, county, born, used):
    """A father's valid ID: his county's code if it existed when he was born, else the city's or province's."""
    for place in (county, county[:4] + "00", county[:2] + "0000"):
        number = resident_id(rng, place, born, "1", used)
        try:
            return idnumbers.validate_resident_id(number)
        except idnumbers.IdError:
            used.discard(number)
    raise ValueError("no valid birthplace code for %s in %s" % (county, born.year))


_STREETS = "人民路 解放路 中山路 建设路 文化路 和平路 新华路 学院路 江滨路 东风路".split()


def record_details(rng, county, cohort, first_grade, surname, used):
    """The rest of a believable record: places, household, enrolment, contact, circumstances, guardian."""
    place = divisions.name_of(county) or county
    address = "%s%s%d号%d幢%d室" % (place, rng.choice(_STREETS), rng.randrange(1, 400),
                                   rng.randrange(1, 30), rng.randrange(101, 1800))
    senior = first_grade >= 10
    left_behind = rng.choices("012", weights=(90, 7, 3))[0]
    disabled = rng.random() < 0.01
    father_born = datetime.date(cohort - first_grade - rng.randrange(24, 40), rng.randrange(1, 13), rng.randrange(1, 29))
    return {
        "birthplace": county, "native_place": county, "nationality": "CHN", "hmt_status": "00",
        "health": "50" if disabled else rng.choices(("10", "20", "30"), weights=(92, 6, 2))[0],
        "disability": rng.choice("1234567") if disabled else "",
        "household_place": county, "household_type": rng.choice("12"),
        "enrolled_on": "%d09" % cohort, "enrolment_mode": "21" if senior else "11",
        "attendance_mode": rng.choices("12", weights=(50, 50) if senior else (90, 10))[0],
        "current_address": address, "mailing_address": address, "home_address": address,
        "phone": "1%d%09d" % (rng.choice((3, 5, 7, 8, 9)), rng.randrange(10**9)),
        "postcode": "3%05d" % rng.randrange(10**5),
        "only_child": rng.random() < 0.4, "left_behind": left_behind,
        "migrant_child": left_behind == "0" and rng.random() < 0.08, "orphan": rng.random() < 0.002,
        "needs_aid": rng.random() < 0.05, "school_bus": rng.random() < 0.1,
        "guardian_name": chinese_name(rng, "1", surname), "guardian_relation": "11",
        "guardian_id_number": guardian_id(rng, county, father_born, used),
        "guardian_phone": "1%d%09d" % (rng.choice((3, 5, 7, 8, 9)), rng.randrange(10**9)),
    }


# -- writing -------------------------------------------------------------------

class Paused(Exception):
    """--max-batches reached: what is committed stays; a later run continues."""


class Batches:
    """One open transaction, committed every ``size`` pupils, cache trimmed after each."""

    def __init__(self, env, size, marker_note, cache_size=None, max_batches=None):
        import transaction
        if cache_size:
            env.db.setCacheSize(cache_size)  # objects kept between batches (the ini's may be large)
        self.tm = transaction.TransactionManager(explicit=True)
        self.conn = env.db.open(transaction_manager=self.tm)
        self.size, self.pending, self.note = size, 0, marker_note
        self.max_batches, self.commits = max_batches, 0
        self._begin()

    def _begin(self):
        txn = self.tm.begin()
        txn.note(self.note)
        txn.user = "system " + common.script_name()

    def added(self):
        self.pending += 1
        if self.pending >= self.size:
            self.commit()

    def commit(self):
        self.tm.commit()
        self.conn.cacheGC()
        self.pending = 0
        self.commits += 1
        self._begin()
        if self.max_batches and self.commits >= self.max_batches:
            raise Paused()

    def close(self, commit):
        if commit:
            self.tm.commit()
        else:
            self.tm.abort()
        self.conn.close()


@dataclass
class Run:
    env: object
    site: object
    marker: object
    rng: object
    batches: Batches
    password_hash: str
    guardian_share: float
    used_ids: set = field(default_factory=set)
    created: int = 0


def ensure_child(run, type_name, parent, key, appstruct):
    child = parent.get(key)
    if child is None:
        child = content.create(type_name, parent, appstruct, run.env.registry)
    return child


def ensure_bureaus(run, county):
    province = ensure_child(run, "Bureau", run.site, PROVINCE,
                            {"code": PROVINCE, "name": bureau_name(PROVINCE)})
    city_code = county[:4] + "00"
    city = ensure_child(run, "Bureau", province, city_code,
                        {"code": city_code, "name": bureau_name(city_code)})
    return ensure_child(run, "Bureau", city, county, {"code": county, "name": bureau_name(county)})


def fill_school(run, plan, progress):
    bureau = ensure_bureaus(run, plan.county)
    school = ensure_child(run, "School", bureau, plan.code,
                          {"code": plan.code, "name": plan.name, "address": "", "phone": ""})
    first_grade = LEVELS[plan.category][0]
    for cohort, number, size in plan.classes:
        klass = ensure_child(run, "SchoolClass", school, SchoolClass.key_for(cohort, number),
                             {"cohort": cohort, "number": number, "name": ""})
        already = len(klass)  # pupils a previous, interrupted run stored here
        for position in range(size):
            values, surname = pupil(run.rng, plan.county, cohort, first_grade, run.used_ids)
            wants_guardian = run.rng.random() < run.guardian_share
            guardian_name = chinese_name(run.rng, run.rng.choice("12"), surname)
            progress.update(1)
            if position < already:
                continue
            student = content.create("Student", klass, values, run.env.registry)
            if not run.marker.get("first_student"):
                run.marker["first_student"] = resource_path(student)
            if wants_guardian:
                add_guardian(run, student, guardian_name)
            run.created += 1
            run.batches.added()


def add_guardian(run, student, title):
    """A guardian account holding ``guardian`` on one pupil."""
    number = run.marker["guardians"] = run.marker.get("guardians", 0) + 1
    user = demo_account(run, "guardian%05d" % number, title + "（家长）")
    common.grant(run.site, user, student, security.GUARDIAN, run.env.registry)


# -- the named demo accounts -----------------------------------------------------

DEMO_MAIL_DOMAIN = "demo.invalid"  # RFC 2606: a name that can never receive mail

def staff_places(site, marker):
    """(login, title, role, node) for one demo account per role."""
    student = common.resolve_path(site, marker["first_student"])
    klass = student.__parent__
    school = klass.__parent__
    county = school.__parent__
    province = site[PROVINCE]
    return (
        ("demo.province", "演示·省教育厅管理员", security.BUREAU_ADMIN, province),
        ("demo.county", "演示·区教育局管理员", security.BUREAU_ADMIN, county),
        ("demo.principal", "演示·校长", security.PRINCIPAL, school),
        ("demo.registrar", "演示·学籍管理员", security.SCHOOL_REGISTRAR, school),
        ("demo.headteacher", "演示·班主任", security.HEAD_TEACHER, klass),
        ("demo.teacher", "演示·任课教师", security.TEACHER, klass),
        ("demo.academic", "演示·教务员", ACADEMIC_ADMIN, school),
        ("demo.guardian", "演示·监护人", security.GUARDIAN, student),
        ("demo.auditor", "演示·审计员", security.AUDITOR, site),
        ("demo.secadmin", "演示·安全管理员", security.SECURITY_ADMIN, site),
    )


def add_staff(run):
    for login, title, role, node in staff_places(run.site, run.marker):
        user = demo_account(run, login, title)
        if not user.email:  # so that approval notices land in var/mail (.invalid: never deliverable)
            user.email = "%s@%s" % (login, DEMO_MAIL_DOMAIN)
        common.grant(run.site, user, node, role, run.env.registry)


DEMO_SUBJECTS = ("01", "02", "03")  # 语文, 数学, 英语


def add_grades(run):
    """A mid-term exam of this term for the demo class's grade, its marks entered (a
    deterministic spread, one pupil absent), 数学 assigned to demo.teacher: the grades
    pages have something to show. Made once, with the rest of the demo."""
    student = common.resolve_path(run.site, run.marker["first_student"])
    klass, school = student.__parent__, student.__parent__.__parent__
    year = run.marker["school_year"]
    term = grade_codes.term_of() if grade_codes.term_of().startswith("%d-" % year) else "%d-1" % year
    grade = books.class_grade(klass, term)
    if grade is None:
        return
    subjects = {s: marks.setup_for(grade_codes.SCORE, 100) for s in DEMO_SUBJECTS
                if s in dict(grade_codes.national_subjects_for(grade))}
    exam = books.add_exam(run.site, school, "期中考试", grade_codes.MIDTERM, term, (grade,), subjects)
    office = run.site.principals.by_login_name("demo.academic")
    teacher = run.site.principals.by_login_name("demo.teacher")
    assignments.assign(klass, term, "02", teacher, run.env.registry)
    pupils = sorted(entry.class_pupils(klass))
    for subject in subjects:
        cells = {key: str(round(max(35.0, min(100.0, run.rng.gauss(78, 11))), 1)) for key in pupils}
        if pupils and subject == list(subjects)[-1]:
            cells[pupils[-1]] = "缺考"
        entry.save(exam, klass, subject, cells, office, registry=run.env.registry)


def demo_account(run, login, title):
    """The account ``login`` with the shared demo password (made if missing).

    The bcrypt hash is computed once and reused: hashing afresh for thousands
    of guardian accounts would take minutes, and the password is published.
    """
    user = run.site.principals.by_login_name(login)
    if user is None:
        user = run.site.principals.add_user(login, title)
        user.password_hash = run.password_hash
        user.password_changed = time.time()
        user.must_change_password = False
    return user


def show_logins(logins, guardians, password):
    print("\nDEMO ACCOUNTS (demonstration only; every account below shares one password)")
    for login, role, path in logins:
        print("  %-18s %-17s at %s" % (login, role, path))
    if guardians:
        last = " … guardian%05d" % guardians if guardians > 1 else ""
        print("  guardian00001%s  (guardian of one pupil each)" % last)
    print("  demo password: %s" % (password if password else "(the one in your --password-file)"))


# -- the command -------------------------------------------------------------------

def parse_args(argv):
    parser = common.make_parser("xueji-demo", DESCRIPTION)
    parser.add_argument("--students", type=_positive, required=True, metavar="N",
                        help="number of pupils to create")
    parser.add_argument("--seed", type=int, default=1, metavar="S",
                        help="random seed: the same seed gives the same data (default 1)")
    parser.add_argument("--batch", type=_positive, default=1000, metavar="B",
                        help="commit every B pupils (default 1000)")
    parser.add_argument("--max-batches", type=_positive, metavar="K",
                        help="stop after committing K batches; the same command continues later")
    parser.add_argument("--cache-size", type=_positive, default=20000, metavar="OBJECTS",
                        help="ZODB connection cache target kept between batches (default 20000; "
                             "lower uses less memory)")
    parser.add_argument("--school-year", type=int, metavar="YYYY",
                        help="school year the cohorts are counted from (default: the current "
                             "one, which starts on 1 September)")
    parser.add_argument("--guardian-share", type=float, default=0.02, metavar="F",
                        help="share of pupils who get a guardian account (default 0.02)")
    parser.add_argument("--password-file", metavar="FILE",
                        help="shared password for the demo accounts, from the first line of FILE")
    return parser.parse_args(argv)


def _positive(text):
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a whole number" % text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def check_marker(root, site, params):
    """The stored demo marker, after checking a run with ``params`` may go ahead.

    Returns (marker, done): done means the demo data is complete and nothing is to be added.
    """
    marker = root.get(MARKER)
    if marker is None:
        if PROVINCE in site:
            raise common.ScriptError(
                "bureau /%s already exists and was not made by xueji-demo; use a fresh database"
                % PROVINCE)
        return None, False
    stored = {key: marker.get(key) for key in params}
    if marker.get("complete"):
        if stored != params:
            print("demo data already present (made with %s); nothing added" % _describe(stored))
        else:
            print("demo data already present; nothing added")
        return marker, True
    if stored != params:
        raise common.ScriptError(
            "an interrupted demo run (%s) is in this database; resume it with the same "
            "arguments or use a fresh database" % _describe(stored))
    print("resuming an interrupted demo run")
    return marker, False


def _describe(params):
    return ", ".join("%s=%s" % (k.replace("_", "-"), params[k]) for k in sorted(params))


def build(env, args, password):
    """Fill the site (or find it filled), commit, then show the demo logins."""
    note = "xueji-demo seed=%s students=%s" % (args.seed, args.students)
    batches = Batches(env, args.batch, note, args.cache_size, args.max_batches)
    try:
        logins, guardians, shown = _build(env, batches, args, password)
    except Paused:
        batches.close(commit=False)
        print("paused after %d batches of %d pupils; run the same command again to continue"
              % (batches.commits, batches.size))
        return
    except BaseException:
        batches.close(commit=False)
        raise
    batches.close(commit=True)
    show_logins(logins, guardians, shown)


def _build(env, batches, args, password):
    params = {"seed": args.seed, "students": args.students, "school_year": args.school_year}
    root = batches.conn.root()
    site = root[ROOT_KEY]
    marker, done = check_marker(root, site, params)
    if marker is None:
        marker = root[MARKER] = PersistentMapping(params)
        marker["password"] = "file" if args.password_file else "default"
    if not done:
        run = Run(env, site, marker, random.Random(args.seed), batches,
                  hash_password(password), args.guardian_share)
        fill(run, args)
        add_staff(run)
        add_grades(run)
        marker["complete"] = True
    logins = [(login, role, resource_path(node))
              for login, _title, role, node in staff_places(site, marker)]
    shown = DEMO_PASSWORD if marker.get("password") == "default" else None
    return logins, marker.get("guardians", 0), shown


def fill(run, args):
    from tqdm import tqdm
    started = time.time()
    with tqdm(total=args.students, unit="pupil", disable=None, file=sys.stderr) as progress:
        for plan in plan_schools(run.rng, args.students, args.school_year):
            fill_school(run, plan, progress)
    elapsed = time.time() - started
    print("created %d pupils (%d guardian accounts) in %.1f s" % (
        run.created, run.marker.get("guardians", 0), elapsed))


def main_(argv):
    args = parse_args(argv)
    uri = common.config_uri(args.config)
    if args.school_year is None:
        args.school_year = current_school_year()
    if not 0 <= args.guardian_share <= 1:
        raise common.ScriptError("--guardian-share must be between 0 and 1")
    password = DEMO_PASSWORD
    if args.password_file:
        password = common.read_password_file(args.password_file)
        common.check_password_rules(password, "")
    settings = common.app_settings(uri)
    common.require_initialised(settings)
    with common.open_app(uri) as env:
        build(env, args, password)
    return 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
