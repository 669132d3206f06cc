"""Every report at every level, against counts made here by walking the test's
own list of pupils (never the catalog): site, province, city, county, school,
class (where the report is offered there).

Issue 12, wrong result 3: the school-level 下属单位对比 showed one row, another
class's figures under this class's name; every class of the school must have
its own row with its own figures.
"""
import copy
import datetime
import random

import pytest
from pyramid.threadlocal import get_current_registry
from stdnum.cn import ric

from xueji_site.standards import codes
from xueji_site.kernel import content
from xueji_site.graduates import graduation
from xueji_site.search import reports
from xueji_site.status import changes as workflow
from xueji_site.kernel.catalog import SYSTEM
from xueji_site.tree.nodes import school_year
from xueji_site.views.reports import _offered
from .conftest import Browser, add_user, open_site, resolve, student_values

YEAR = school_year()
GENDERS = ("1", "2")
ETHNICITIES = ("01", "01", "01", "03", "08", "11")
LEFT = ("0", "0", "0", "1", "2")
SPECIAL = dict(reports.SPECIAL_GROUPS)


def _translate(s):
    return s.interpolate() if hasattr(s, "interpolate") else str(s)


def _id(county, serial, male, cohort):
    body = "%s%04d0%d%02d%03d" % (county, cohort - 7, serial % 9 + 1, serial % 27 + 1,
                                  (serial * 2 + (1 if male else 0)) % 1000)
    return body + ric.calc_check_digit(body + "0")


# (province, city or None, county, school code, school name, cohorts, classes per cohort)
LAYOUT = (
    ("330000", "330100", "330102", "2133000001", "上城实验小学", range(YEAR - 5, YEAR + 1), 4),
    ("330000", "330100", "330106", "3133000002", "西湖初级中学", range(YEAR - 2, YEAR + 1), 2),
    ("330000", "330200", "330203", "3433000003", "海曙高级中学", range(YEAR - 2, YEAR + 1), 2),
    ("110000", None, "110105", "2111000004", "朝阳第二小学", range(YEAR - 1, YEAR + 1), 1),
)


@pytest.fixture(scope="module")
def world_data():
    """What the test itself knows of every pupil: a plain list, independent of the site."""
    rng = random.Random(12)
    pupils, serial = [], 0
    for province, city, county, school, _name, cohorts, per_cohort in LAYOUT:
        for cohort in cohorts:
            for number in range(1, per_cohort + 1):
                for _n in range(rng.randint(3, 9)):
                    serial += 1
                    gender = rng.choice(GENDERS)
                    status = rng.choice(["enrolled"] * 12 + ["suspended", "withdrawn", "transferred_out"])
                    pupils.append({
                        "serial": serial, "province": province, "city": city, "county": county,
                        "school": school, "cohort": cohort, "number": number, "gender": gender,
                        "ethnicity": rng.choice(ETHNICITIES), "left_behind": rng.choice(LEFT),
                        "migrant_child": rng.random() < 0.2, "orphan": rng.random() < 0.05,
                        "disability": "1" if rng.random() < 0.05 else "", "status": status,
                        "id": _id(county, serial, gender == "1", cohort)})
    return pupils


def _path(p, level):
    parts = [p["province"]] + ([p["city"]] if p["city"] else []) + [p["county"], p["school"],
                                                                    "%04d-%02d" % (p["cohort"], p["number"])]
    depth = {"site": 0, "province": 1, "city": 2 if p["city"] else None,
             "county": len(parts) - 2, "school": len(parts) - 1, "class": len(parts)}[level]
    return None if depth is None else "/" + "/".join(parts[:depth])


@pytest.fixture
def world(app, world_data):
    """The site built from ``world_data``, plus approved status changes and one graduated cohort."""
    world_data = copy.deepcopy(world_data)  # statuses change below: each test starts from the same list
    with open_site(app) as site:
        registry = get_current_registry()
        nodes = {}

        def bureau(parent, code, name):
            if code not in parent:
                content.create("Bureau", parent, {"code": code, "name": name}, registry)
            return parent[code]

        for province, city, county, school, name, cohorts, per_cohort in LAYOUT:
            node = bureau(site, province, {"330000": "浙江省教育厅", "110000": "北京市教育委员会"}[province])
            if city:
                node = bureau(node, city, {"330100": "杭州市教育局", "330200": "宁波市教育局"}[city])
            node = bureau(node, county, "%s教育局" % county)
            s = content.create("School", node, {"code": school, "name": name, "address": "", "phone": ""},
                               registry)
            for cohort in cohorts:
                for number in range(1, per_cohort + 1):
                    content.create("SchoolClass", s, {"cohort": cohort, "number": number, "name": ""}, registry)
            nodes[school] = s
        for p in world_data:
            values = student_values(p["id"], "学生%d" % p["serial"], p["gender"])
            values.update(ethnicity=p["ethnicity"], left_behind=p["left_behind"], migrant_child=p["migrant_child"],
                          orphan=p["orphan"], disability=p["disability"])
            klass = nodes[p["school"]]["%04d-%02d" % (p["cohort"], p["number"])]
            pupil = content.create("Student", klass, values, registry)
            p["record"] = pupil
        clerk = add_user(site, "clerk", "sysadmin")
        add_user(site, "reg", "school_registrar", at=nodes["2133000001"])
        # approved status changes through the state machine: suspensions and one going abroad
        changes = []
        people = {}

        def holder(node, role):
            """Someone holding ``role`` on ``node`` (made on first need)."""
            if (node.__name__, role) not in people:
                people[node.__name__, role] = add_user(site, "%s-%s" % (role, node.__name__), role, at=node)
            return people[node.__name__, role]

        def approve_all(change, pupil):
            """Every step decided by one entitled to it (nobody decides their own request)."""
            while change.state == "open":
                node = change.waiting_node()
                role = "principal" if node.content_type == "School" else "bureau_admin"
                workflow.decide(change, pupil, holder(node, role), True)

        def ask(kind, pupil, reason, **dates):
            return workflow.start(kind, pupil, holder(workflow.school_of(pupil), "school_registrar"), reason, **dates)

        for p in [p for p in world_data if p["status"] == "suspended"][:6]:
            change = ask("suspend", p["record"], "因病休学", starts_on=datetime.date(2026, 9, 1),
                         ends_on=datetime.date(2027, 1, 31))
            approve_all(change, p["record"])
            changes.append(("suspend", p))
        for p in [p for p in world_data if p["status"] == "enrolled" and p["school"] == "3433000003"][:1]:
            change = ask("abroad", p["record"], "随父母出国")
            approve_all(change, p["record"])
            p["status"] = "abroad"
            changes.append(("abroad", p))
        for p in world_data:  # the remaining statuses set directly, as older data has them
            if p["record"].status != p["status"]:
                content.modify(p["record"], {"status": p["status"]}, registry)
        # the senior school's oldest cohort graduates (counted by the graduates report, not enrolled any more)
        oldest = min(LAYOUT[2][5])
        graduated = graduation.graduate(nodes["3433000003"], oldest)
        for p in world_data:
            if p["school"] == "3433000003" and p["cohort"] == oldest and p["status"] == "enrolled":
                p["status"] = "graduated"
        assert len(graduated) == sum(1 for p in world_data if p["status"] == "graduated")
        for p in world_data:
            p.pop("record")
    return {"pupils": world_data, "changes": changes}


# -- the expected tables, computed from the list ---------------------------------

def _gender_counts(pupils):
    counts = [sum(1 for p in pupils if p["gender"] == g) for g in GENDERS]
    return counts + [len(pupils)]


def _rows(groups, keep_empty=False, total=True):
    rows = [[label] + _gender_counts(members) for label, members in groups
            if keep_empty or members]
    if total and rows:
        rows.append(["合计"] + [sum(r[i] for r in rows) for i in range(1, 4)])
    return rows


def expected_enrolment(enrolled):
    groups = {}
    for p in enrolled:
        level = codes.school_level(p["school"][:2])
        first, count = codes.LEVEL_GRADES[level]
        offset = YEAR - p["cohort"]
        grade = first + offset if 0 <= offset < count else None
        groups.setdefault((level, grade), []).append(p)
    order = lambda key: (reports.LEVEL_ORDER.index(key[0]), key[1] or 99)
    return _rows([("%s %s" % (_translate(codes.LEVEL_LABELS[k[0]]),
                              _translate(codes.GRADE_LABELS[k[1]]) if k[1] else "不在年级范围"), groups[k])
                  for k in sorted(groups, key=order)])


def expected_ethnicity(enrolled):
    codes_seen = sorted({p["ethnicity"] for p in enrolled})
    by_code = [(c, [p for p in enrolled if p["ethnicity"] == c]) for c in codes_seen]
    by_code.sort(key=lambda item: -len(item[1]))
    return _rows([(_translate(codes.label(codes.ETHNICITY, c)), members) for c, members in by_code])


def expected_special(enrolled):
    tests = {"left_behind": lambda p: p["left_behind"] in ("1", "2"),
             "left_behind_both": lambda p: p["left_behind"] == "2",
             "migrant": lambda p: p["migrant_child"], "disabled": lambda p: bool(p["disability"]),
             "orphan": lambda p: p["orphan"]}
    return _rows([(_translate(label), [p for p in enrolled if tests[flag](p)])
                  for flag, label in reports.SPECIAL_GROUPS], keep_empty=True, total=False)


def expected_units(enrolled, level, path, unit_titles):
    """One row per child unit: bureaus under a bureau, schools under a county, classes under a school."""
    child_level = {"site": "province", "province": "city", "city": "county", "county": "school",
                   "school": "class"}[level]
    groups = []
    for unit_path, title in unit_titles:
        members = [p for p in enrolled if _path(p, child_level) == unit_path
                   or (child_level == "city" and _path(p, "county") == unit_path)]
        groups.append((title, members))
    return _rows(groups, keep_empty=True)


def expected_status_changes(changes, scope_pupils):
    today = datetime.date.today()
    months = ["%d-%02d" % (today.year, m) for m in range(1, today.month + 1)]
    columns = [str(today.year - 1), str(today.year)] + months
    serials = {p["serial"] for p in scope_pupils}
    rows = []
    for kind, change_type in workflow.TYPES.items():
        done = [p for k, p in changes if k == kind and p["serial"] in serials]
        rows.append([_translate(change_type.label)] + [
            len(done) if column in (str(today.year), today.strftime("%Y-%m")) else 0 for column in columns])
    rows.append(["合计"] + [sum(r[i] for r in rows) for i in range(1, len(columns) + 1)])
    return rows


def expected_graduates(scope_pupils):
    done = [p for p in scope_pupils if p["status"] == "graduated"]
    if not done:
        return []
    from xueji_site.graduates import destinations
    width = 3 + len(destinations.DESTINATIONS) + 2
    row = [str(datetime.date.today().year), len(done), 0, 0] + [0] * len(destinations.DESTINATIONS) \
        + [len(done), len(done)]
    assert len(row) == width + 1
    return [row, ["合计"] + row[1:]]


def expected_class_sizes(enrolled, level, path):
    """Every class of the test's layout under ``path``, its enrolled pupils against 45 (primary) or 50."""
    rows = []
    for province, city, county, school, name, cohorts, per_cohort in LAYOUT:
        for cohort in cohorts:
            for number in range(1, per_cohort + 1):
                fake = {"province": province, "city": city, "county": county, "school": school,
                        "cohort": cohort, "number": number}
                here = _path(fake, "class")
                if path != "/" and not (here + "/").startswith(path.rstrip("/") + "/"):
                    continue
                n = sum(1 for p in enrolled if _path(p, "class") == here)
                standard = 45 if school.startswith("21") else 50
                title = "%d级%d班" % (cohort, number)
                label = title if level in ("school", "class") else "%s %s" % (name, title)
                rows.append((-n, here, [label, n, standard, max(0, n - standard)]))
    return [row for _n, _p, row in sorted(rows)]


# -- the comparison ------------------------------------------------------------------

def _nodes_of_every_level(pupils):
    """(level, path) of every node holding pupils, for every level."""
    found = {("site", "/")}
    for p in pupils:
        for level in ("province", "city", "county", "school", "class"):
            path = _path(p, level)
            if path is not None:
                found.add((level, path))
    return sorted(found)


def _unit_titles(site, node, level):
    """The child units as this test names them (its own layout), in the report's order: by title."""
    if level == "school":
        keys = sorted(k for k in node.keys())
        return [("%s/%s" % (_node_path(node), k), "%d级%d班" % (int(k[:4]), int(k[5:]))) for k in keys]
    names = {s[3]: s[4] for s in LAYOUT}
    names.update({"330000": "浙江省教育厅", "110000": "北京市教育委员会", "330100": "杭州市教育局",
                  "330200": "宁波市教育局"})
    kids = [(k, names.get(k, "%s教育局" % k)) for k in node.keys()]
    kids.sort(key=lambda kv: kv[1])
    return [("%s/%s" % (_node_path(node), k), title) for k, title in kids]


def _node_path(node):
    from pyramid.traversal import resource_path
    path = resource_path(node)
    return "" if path == "/" else path


def test_every_report_at_every_level_matches_counts_made_by_walking_the_data(app, world):
    pupils, changes = world["pupils"], world["changes"]
    checked = {}
    with open_site(app) as site:
        for level, path in _nodes_of_every_level(pupils):
            node = resolve(site, path)
            scope = [p for p in pupils if path == "/" or _path(p, level) == path]
            enrolled = [p for p in scope if p["status"] == "enrolled"]
            for report in _offered(node):
                table = reports.run(report.name, site, SYSTEM, node)
                _header, rows = table.grid(_translate)
                if report.name == "enrolment":
                    expected = expected_enrolment(enrolled)
                elif report.name == "ethnicity":
                    expected = expected_ethnicity(enrolled)
                elif report.name == "special":
                    expected = expected_special(enrolled)
                elif report.name == "units":
                    expected = expected_units(enrolled, level, path, _unit_titles(site, node, level))
                elif report.name == "status_changes":
                    expected = expected_status_changes(changes, scope)
                elif report.name == "class_sizes":
                    expected = expected_class_sizes(enrolled, level, path)
                elif report.name == "graduates":
                    expected = expected_graduates(scope) if level != "class" else []
                else:
                    pytest.fail("a report without an independent count here: %s" % report.name)
                assert rows == expected, (report.name, level, path)
                checked.setdefault(report.name, set()).add(level)
    # every report was compared at every level where it is offered
    assert checked["units"] == {"site", "province", "city", "county", "school"}
    for name in ("enrolment", "ethnicity", "special", "status_changes", "graduates", "class_sizes"):
        assert checked[name] == {"site", "province", "city", "county", "school", "class"}, name
    assert set(checked) == {r.name for r in reports.REPORTS.values() if r.available}


def test_school_units_report_has_every_class_with_its_own_figures(app, browser, world):
    """The regression of wrong result 3, as the registrar sees it on the page."""
    pupils = world["pupils"]
    school = "/330000/330100/330102/2133000001"
    browser.login("reg")
    page = browser.get(school + "/reports", {"name": "units"})
    rows = page.html.select("table.report-table tbody tr")
    shown = {r.find("th").get_text(): [int(td.get_text()) for td in r.find_all("td")] for r in rows}
    classes = sorted({(p["cohort"], p["number"]) for p in pupils if p["school"] == "2133000001"})
    assert len(classes) == 24 and len(shown) == 24 + 1  # every class, then the total
    for cohort, number in classes:
        members = [p for p in pupils if p["school"] == "2133000001" and p["cohort"] == cohort
                   and p["number"] == number and p["status"] == "enrolled"]
        assert shown["%d级%d班" % (cohort, number)] == _gender_counts(members)
    everyone = [p for p in pupils if p["school"] == "2133000001" and p["status"] == "enrolled"]
    assert shown["合计"] == _gender_counts(everyone)
