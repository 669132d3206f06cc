"""Default deny, the role × node-type × permission matrix, and no cross-school access."""
import re

import pytest
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.authorization import DENY_ALL
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import content, permissions as P, security
from .conftest import add_user, build_tree, open_site, resolve

# Views that anyone may reach, by (context class name or route, view name).
PUBLIC = {
    ("Site", "login"), ("Site", "logout"), ("Site", "language"),
    ("Site", "totp"), ("Site", "privacy"),  # the second-factor step; the privacy notice
    ("static", ""), ("static-deform", ""),
    # issue 5: public certificate verification (security.md H1) — rate limited, audited,
    # masked minimal answers; the form posts with a CSRF token, the JSON is a GET
    ("Site", "verify"), ("Site", "verify.json"), ("Site", "verify-captcha.png"),
}


def _view_key(intr):
    context = intr["context"]
    route = intr["route_name"]
    if route:
        return (route.replace("__", "").split("/")[0], "")
    return (getattr(context, "__name__", str(context)), intr["name"])


def _is_exception(context):
    from pyramid.interfaces import IExceptionResponse
    if context is IExceptionResponse:
        return True
    return isinstance(context, type) and issubclass(context, BaseException)


def test_every_view_has_a_permission_or_is_public(app):
    introspector = app.registry.introspector
    missing = []
    seen = 0
    for entry in introspector.get_category("views"):
        view = entry["introspectable"]
        context = view["context"]
        if view["exception_only"] or _is_exception(context):
            continue  # error pages render after the request was already judged
        seen += 1
        perms = [r["value"] for r in entry["related"] if r.category_name == "permissions"]
        perm = perms[0] if perms else view.get("permission")
        key = _view_key(view)
        if key in PUBLIC:
            continue
        if perm in (None, NO_PERMISSION_REQUIRED) or perm not in P.ALL:
            missing.append((key, perm))
    assert seen > 10
    assert missing == [], "views without a real permission: %r" % missing


def test_default_permission_denies_a_view_without_one(app):
    from pyramid.interfaces import IDefaultPermission
    assert app.registry.getUtility(IDefaultPermission) == P.UNSET
    assert all(P.UNSET not in perms for type_roles in security.matrix(app.registry).values()
               for perms in type_roles.values())


# -- the matrix -------------------------------------------------------------
# Written out here on purpose, independently of the registrations: this table is
# the policy as a person states it; the code must agree with it.
V, R, S, A, E, D, SH = P.VIEW, P.VIEW_RECORD, P.VIEW_SENSITIVE, P.ADD, P.EDIT, P.DELETE, P.SHARE
AS, AB, RC = P.APPROVE_SCHOOL, P.APPROVE_BUREAU, P.REQUEST_CHANGE
GR, TG, IC = P.GRADUATE, P.TRACK_GRADUATES, P.ISSUE_CODE  # issue 5: graduation
XE = P.APPROVE_EXPORT  # G3/G4: approving bulk and external exports (not on a pupil: no export is scoped there)
BG = P.BREAK_GLASS  # 三员分立: the sysadmin reads a record masked, and in full only by break-glass
# Issue 12 (5): nobody but a sysadmin deletes a pupil's record (soon after an entry in error);
# registrars and bureaus cancel a wrong registration through a status change, and merge duplicates.
M = P.MERGE
# Issue 13: grades. Entering is for teachers of the class (the subject is checked by
# grades/entry.py), reading for the head teacher, the school's offices and bureaus,
# a guardian reads their own child's (as the stage's policy allows).
RG, EG, MG, OG = P.READ_GRADES, P.ENTER_GRADES, P.MANAGE_GRADES, P.OWN_GRADES
EXPECTED = {
    # role, granted at: {node: permissions there}
    ("bureau_admin", "county_a"): {
        "province": set(), "county_a": {V, A, E, SH, AB, GR, XE, RG, MG},
        "school_a": {V, A, E, D, SH, GR, XE, RG, MG}, "class_a": {V, A, E, D, SH, XE, RG},
        "pupil_a": {V, R, S, A, E, M, SH, AB, RC, TG, RG}, "member_a": {V, R, S, E, D},
        "school_b": set(), "pupil_b": set()},
    ("principal", "school_a"): {
        "county_a": set(), "school_a": {V, SH, AS, GR, XE, RG, EG, MG}, "class_a": {V, SH, XE, RG, EG, MG},
        "pupil_a": {V, R, S, SH, AS, RC, TG, IC, RG},
        "member_a": {V, R, S}, "school_b": set(), "pupil_b": set()},
    ("school_registrar", "school_a"): {
        "county_a": set(), "school_a": {V, A, E, SH, GR}, "class_a": {V, A, E, D, SH},
        "pupil_a": {V, R, S, A, E, M, SH, RC, TG, IC}, "member_a": {V, R, S, E, D}, "school_b": set(), "pupil_b": set()},
    ("head_teacher", "class_a"): {
        "school_a": set(), "class_a": {V, RG, EG}, "pupil_a": {V, R, A, E, RG}, "member_a": {V, R, E, D},
        "class_b": set(), "pupil_b": set()},
    ("teacher", "class_a"): {
        "school_a": set(), "class_a": {V, EG}, "pupil_a": {V}, "member_a": {V}, "pupil_b": set()},
    ("academic_admin", "school_a"): {
        "county_a": set(), "school_a": {V, RG, EG, MG}, "class_a": {V, RG, EG, MG}, "pupil_a": {V, RG},
        "member_a": {V}, "school_b": set(), "pupil_b": set()},
    ("guardian", "pupil_a"): {
        "class_a": set(), "pupil_a": {V, R, S, P.GUARDIAN_REQUEST, IC, OG}, "member_a": {V, R, S}, "pupil_b": set()},
    ("auditor", "site"): {
        "site": {P.AUDIT, P.ACCOUNT}, "province": set(), "school_a": set(), "pupil_a": set()},
    ("sysadmin", "site"): {
        "site": {V, A, E, SH, P.MANAGE_USERS, P.ACCOUNT}, "province": {V, A, E, D, SH},
        "school_b": {V, A, E, D, SH}, "pupil_b": {V, R, A, E, D, SH, BG}, "member_a": {V, R, E, D, BG}},
    ("security_admin", "site"): {
        "site": {V, SH, P.MANAGE_USERS, P.ACCOUNT}, "school_a": {V, SH}, "pupil_a": {V, SH}, "member_a": {V}},
}


@pytest.fixture
def tree(app):
    """build_tree's nodes (plus the site), as paths usable across connections."""
    from pyramid.traversal import resource_path
    with open_site(app) as site:
        nodes = dict(build_tree(site, get_current_registry()), site=site)
        nodes["member_a"] = content.create("FamilyMember", nodes["pupil_a"], {
            "name": "李父", "relation": "11", "is_guardian": True, "id_number": "110105198001010016",
            "phone": "13800000000"}, get_current_registry())
        return {name: resource_path(node) for name, node in nodes.items()}


@pytest.mark.parametrize("role,where", sorted(EXPECTED))
def test_role_matrix(app, tree, role, where):
    with open_site(app) as site:
        user = add_user(site, "u-" + role, role, at=resolve(site, tree[where]))
        for node_name, expected in EXPECTED[(role, where)].items():
            node = resolve(site, tree[node_name])
            granted = {perm for perm in P.ALL if security.permits(user, node, perm)}
            assert granted == expected, (role, node_name)


def test_every_content_type_has_matrix_rows(app):
    matrix = security.matrix(app.registry)
    types = content.all_types(app.registry)
    assert {"Site", "Bureau", "School", "SchoolClass", "Student", "FamilyMember", "Archive"} <= {ct.name for ct in types}
    for ct in types:
        assert ct.name in matrix, ct.name
        assert security.type_acl(ct.name, app.registry)[-1][0] == "Deny"  # nothing leaks from above
    assert security.type_acl("NotRegistered", app.registry) == (DENY_ALL,)  # default deny


def test_matrix_view_is_inherited_downwards(app):
    """A role that may view a node may view every node type below it (catalog scoping relies on it)."""
    below = {"Site": ["Bureau", "School", "SchoolClass", "Student", "FamilyMember", "Archive"],
             "Bureau": ["School", "SchoolClass", "Student", "FamilyMember", "Archive"],
             "School": ["SchoolClass", "Student", "FamilyMember", "Archive"],
             "SchoolClass": ["Student", "FamilyMember"],
             "Student": ["FamilyMember"], "FamilyMember": [], "Archive": []}  # Archive: issue 5
    matrix = security.matrix(app.registry)
    for type_name, roles in matrix.items():
        for role, perms in roles.items():
            if P.VIEW in perms:
                for lower in below.get(type_name, ()):
                    assert P.VIEW in matrix[lower].get(role, ()), (role, type_name, lower)
    assert set(below) <= set(matrix)


def test_roles_grantable_only_by_outranking_holders(app, tree):
    with open_site(app) as site:
        registrar = add_user(site, "reg", "school_registrar", at=resolve(site, tree["school_a"]))
        school, klass = resolve(site, tree["school_a"]), resolve(site, tree["class_a"])
        assert security.may_grant(registrar, klass, "head_teacher")
        assert security.may_grant(registrar, resolve(site, tree["pupil_a"]), "guardian")
        assert not security.may_grant(registrar, school, "principal")
        assert not security.may_grant(registrar, school, "school_registrar")
        assert not security.may_grant(registrar, resolve(site, tree["county_a"]), "bureau_admin")
        assert not security.may_grant(registrar, resolve(site, tree["class_b"]), "head_teacher")
        city_admin = add_user(site, "prov", "bureau_admin", at=resolve(site, tree["province"]))
        assert security.may_grant(city_admin, resolve(site, tree["county_a"]), "bureau_admin")
        assert not security.may_grant(city_admin, resolve(site, tree["province"]), "bureau_admin")


# -- cross-school -----------------------------------------------------------

def _token(browser):
    page = browser.get("/password")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_registrar_of_school_a_reaches_nothing_of_school_b(app, browser, tree):
    with open_site(app) as site:
        add_user(site, "reg-a", "school_registrar", at=resolve(site, tree["school_a"]))
        b_name = resolve(site, tree["pupil_b"]).name
    browser.login("reg-a")
    own = browser.get(tree["school_a"] + "/")
    assert "朝阳实验小学" in own.text
    school_b, class_b, pupil_b = tree["school_b"], tree["class_b"], tree["pupil_b"]
    gets = [school_b + "/", school_b + "/edit", school_b + "/sharing", school_b + "/delete",
            school_b + "/add?type=SchoolClass", school_b + "/export?format=csv&type=SchoolClass",
            class_b + "/", class_b + "/edit", class_b + "/add?type=Student", class_b + "/export?format=xlsx&type=Student",
            pupil_b + "/", pupil_b + "/edit", pupil_b + "/sharing", pupil_b + "/delete",
            tree["county_b"] + "/", tree["county_a"] + "/", tree["province"] + "/", "/audit"]
    for url in gets:
        response = browser.get(url, status="*")
        assert response.status_int in (403, 404), url
        assert b_name not in response.text, url
    home = browser.get("/")  # the root shows a registrar only their own places
    assert "朝阳实验小学" in home.text and "海淀第一小学" not in home.text
    token = _token(browser)
    posts = [(pupil_b + "/edit", {"name": "篡改"}), (pupil_b + "/delete", {}),
             (class_b + "/add?type=Student", {"name": "x"}), (pupil_b + "/sharing", {"login": "x", "role": "guardian"}),
             (school_b + "/edit", {"name": "x"})]
    for url, data in posts:
        data = dict(data, csrf_token=token, save="save")
        response = browser.post(url, data, status="*")
        assert response.status_int in (403, 404), url
    with open_site(app) as site:
        assert resolve(site, tree["pupil_b"]).name == b_name
        assert len(resolve(site, tree["class_b"])) == 1
        changes = [e for e in site.audit.newest(limit=1000) if e.action in ("modify", "create", "delete", "roles")]
        assert all(e.login != "reg-a" for e in changes)


def test_listing_is_scoped_by_catalog(app, tree):
    """Even a raw catalog listing of a parent shows only what the user may view."""
    from xueji_site.kernel import catalog
    with open_site(app) as site:
        teacher = add_user(site, "t-a", "teacher", at=resolve(site, tree["class_a"]))
        total, rows = catalog.children(site, teacher, resolve(site, tree["school_a"]))
        assert [r.__name__ for r in rows] == ["2024-03"]
        total, rows = catalog.children(site, teacher, resolve(site, tree["school_b"]))
        assert total == 0 and rows == []
        nobody = add_user(site, "nobody")
        assert catalog.children(site, nobody, site) == (0, [])
