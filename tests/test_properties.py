"""Property tests for the schemas in schemas/ (I1): on arbitrary input a schema
either deserialises or raises colander.Invalid — nothing else; and valid
generated input comes back unchanged."""
import contextlib
import string

import colander
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pyramid.request import Request
from pyramid.scripting import prepare
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import content
from xueji_site.schemas.accounts import (GrantSchema, LoginSchema, TotpSchema, change_password_schema,
                                         password_problems)
from .conftest import add_user, build_tree, open_site

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text that exercises the awkward corners: controls, surrogates excluded (WebOb
# never hands those over), CJK, RTL marks, very long strings.
ANY_TEXT = st.one_of(st.text(max_size=40), st.text(alphabet="0123456789-:TZ. ", max_size=25),
                     st.just(""), st.text(min_size=300, max_size=400))
ANY_VALUE = st.one_of(ANY_TEXT, st.none(), st.integers(), st.lists(ANY_TEXT, max_size=3),
                      st.dictionaries(st.text(max_size=8), ANY_TEXT, max_size=3), st.just(colander.null))


@pytest.fixture
def live(app):
    """A request on the real application and the tree's nodes in its connection."""
    with open_site(app) as site:
        build_tree(site, get_current_registry())
        add_user(site, "root", "sysadmin")
    request = Request.blank("/", environ={"REMOTE_ADDR": "127.0.0.1"})
    env = prepare(request=request, registry=app.registry)
    site = request.site
    user = site.principals.by_login_name("root")
    request.user = user
    county = site["110000"]["110105"]
    school = county["2111000001"]
    klass = school["2024-03"]
    pupil = next(iter(klass.values()))
    try:
        yield request, {"Site": site, "Bureau": county, "School": school, "SchoolClass": klass,
                        "Student": pupil, "FamilyMember": pupil}
    finally:
        env["closer"]()


def _schemas(request, nodes):
    """Every form schema of the site, bound as the views bind them."""
    found = [("login", LoginSchema().bind(request=request)),
             ("totp", TotpSchema().bind(request=request)),
             ("password", change_password_schema().bind(request=request, user=request.user)),
             ("grant", GrantSchema().bind(request=request, roles=["head_teacher", "teacher"]))]
    for ct in content.all_types():
        if ct.schema is None:
            continue
        parents = [p for p in nodes.values() if ct.name in [t.name for t in content.addable_types(p)]]
        if parents:
            found.append((ct.name + "-add", ct.schema(request, parents[0], True).bind(
                request=request, context=parents[0], adding=True)))
        own = nodes.get(ct.name)
        if own is not None and getattr(own, "content_type", None) == ct.name:
            found.append((ct.name + "-edit", ct.schema(request, own, False).bind(
                request=request, context=own, adding=False)))
    return found


def _field_names(schema):
    return [child.name for child in schema.children]


def test_every_schema_raises_only_invalid(live):
    request, nodes = live
    schemas = _schemas(request, nodes)
    assert {"login", "password", "Student-add", "Student-edit", "School-add", "SchoolClass-add"} <= {n for n, _s in schemas}
    for name, schema in schemas:
        fields = _field_names(schema)

        @PROPERTY
        @given(st.fixed_dictionaries({f: ANY_VALUE for f in fields},
                                     optional={"unexpected": ANY_VALUE}))
        def check(cstruct):
            with contextlib.suppress(colander.Invalid):
                schema.deserialize(cstruct)

        try:
            check()
        except Exception as exc:  # name the schema in the report
            raise AssertionError("schema %s: %r" % (name, exc)) from exc


def test_arbitrary_top_level_input(live):
    request, nodes = live
    for name, schema in _schemas(request, nodes):
        @PROPERTY
        @given(ANY_VALUE)
        def check(cstruct):
            with contextlib.suppress(colander.Invalid):
                schema.deserialize(cstruct)
        check()


# -- valid input round-trips --------------------------------------------------------

LOGIN = st.from_regex(r"\A[a-z0-9_.@\-]{2,64}\Z")


@PROPERTY
@given(login=LOGIN, password=st.text(min_size=1, max_size=200))
def test_login_round_trip(live, login, password):
    request, _nodes = live
    schema = LoginSchema().bind(request=request)
    value = schema.deserialize({"csrf_token": "t", "login": login, "password": password})
    assert value == {"csrf_token": "t", "login": login, "password": password}


@PROPERTY
@given(code=st.from_regex(r"\A[0-9]{6}\Z"))
def test_totp_round_trip(live, code):
    request, _nodes = live
    assert TotpSchema().bind(request=request).deserialize({"csrf_token": "", "code": code})["code"] == code


@PROPERTY
@given(login=LOGIN, title=st.text(alphabet=string.ascii_letters + "王李张老师 ", max_size=60).map(str.strip),
       role=st.sampled_from(["head_teacher", "teacher"]))
def test_grant_round_trip(live, login, title, role):
    request, _nodes = live
    schema = GrantSchema().bind(request=request, roles=["head_teacher", "teacher"])
    value = schema.deserialize({"csrf_token": "", "login": login, "title": title, "role": role})
    assert value == {"csrf_token": "", "login": login, "title": title, "role": role}
    assert schema.serialize(value)["login"] == login


STRONG = st.builds(lambda a, b, c, d, rest: a + b + c + d + rest,
                   st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ"), st.sampled_from("abcdefghijkmnpqrstuvwxyz"),
                   st.sampled_from("23456789"), st.sampled_from("-_!#%*+"),
                   st.text(alphabet=string.ascii_letters + string.digits + "-_!#", min_size=8, max_size=40))


@PROPERTY
@given(password=STRONG)
def test_password_change_accepts_every_strong_password(live, password):
    request, _nodes = live
    if password_problems(password, request.user.login):
        return  # the rare draw that contains the login or a listed word
    schema = change_password_schema().bind(request=request, user=request.user)
    value = schema.deserialize({"csrf_token": "", "current": "x", "new_password": password, "confirm": password})
    assert value["new_password"] == password


@PROPERTY
@given(cohort=st.integers(1990, 2025), number=st.integers(1, 99),
       name=st.text(alphabet="一二三四五六七八九十班级ABC ", max_size=40).map(str.strip))
def test_class_round_trip(live, cohort, number, name):
    request, nodes = live
    ct = content.get("SchoolClass")
    schema = ct.schema(request, nodes["School"], True).bind(request=request, context=nodes["School"], adding=True)
    cstruct = {"csrf_token": "", "cohort": str(cohort), "number": str(number), "name": name}
    if (cohort, number) == (2024, 3):
        with pytest.raises(colander.Invalid):  # that class exists already
            schema.deserialize(cstruct)
        return
    value = schema.deserialize(cstruct)
    assert (value["cohort"], value["number"], value["name"]) == (cohort, number, name)
    assert schema.serialize(value)["number"] == str(number)
