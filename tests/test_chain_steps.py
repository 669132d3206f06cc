"""Issue 20 (3): every status-change chain, step by step. Until its last approval the pupil
stays where she was, in the status she had (a transfer's sending school letting go marks
her 转学中, nothing more); the last approval alone moves her and sets the new status."""
import datetime

import pytest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.kernel import content
from xueji_site.status import changes as workflow
from .conftest import open_site, resolve
from .test_workflow import world  # noqa: F401  (fixture)

# who decides at each node of the world fixture (the principal or the bureau admin there)
DECIDERS = {"school_a": "head_a", "county_a": "county_a", "school_b": "head_b", "county_b": "county_b",
            "province": "prov_bj", "tj_school": "head_tj", "hp": "county_tj", "tj": "prov_tj",
            "senior": "head_s"}

# kind, pupil, status set before (None: as built), target class (a path key of world or a callable), requester
CASES = [
    ("transfer", "pupil_a", None, "class_b", "reg_b"),
    ("transfer", "pupil_a", None, "tj_class", "reg_tj"),          # across provinces: six steps
    ("suspend", "pupil_a", None, None, "reg_a"),
    ("resume", "pupil_a", "suspended", None, "reg_a"),
    ("withdraw", "teen", None, None, "reg_s"),
    ("drop_out", "pupil_a", None, None, "reg_a"),
    ("expel", "teen", None, None, "reg_s"),
    ("death", "pupil_a", None, None, "reg_a"),
    ("abroad", "pupil_a", None, None, "reg_a"),
    ("repeat", "teen", None, "s_next", "reg_s"),
    ("skip", "pupil_a", None, "a_earlier", "reg_a"),
    ("reinstate", "pupil_a", "withdrawn", None, "reg_a"),
    ("cancel", "pupil_a", "deceased", None, "reg_a"),
    ("void", "pupil_a", None, None, "reg_a"),
]


@pytest.mark.parametrize("kind,who,status,target,requester", CASES,
                         ids=["%s-%s" % (c[0], c[3] or c[1]) for c in CASES])
def test_the_pupil_changes_only_at_the_last_approval(app, world, kind, who, status, target, requester):
    with open_site(app) as site:
        registry = get_current_registry()
        school_a = resolve(site, world["school_a"])
        extra = {"a_earlier": content.create("SchoolClass", school_a, {"cohort": 2023, "number": 1, "name": ""},
                                             registry),
                 "tj_class": next(iter(resolve(site, world["tj_school"]).values()))}
        pupil = resolve(site, world[who])
        if status:
            pupil.status = status
        target_class = extra[target] if target in extra else (resolve(site, world[target]) if target else None)
        before_place, before_status = resource_path(pupil.__parent__), pupil.status
        deciders = {resource_path(resolve(site, world[name])): login for name, login in DECIDERS.items()}
        users = site.principals
        period = {"starts_on": datetime.date(2026, 9, 1), "ends_on": datetime.date(2027, 7, 1)} \
            if kind == "suspend" else {}
        change = workflow.start(kind, pupil, users.by_login_name(requester), "依规办理", target_class,
                                registry=registry, **period)
        steps = list(change.chain)
        for position, step in enumerate(steps):
            assert resource_path(pupil.__parent__) == before_place, (step, position)
            expected = workflow.TRANSFER_PENDING if kind == "transfer" and "school" in steps[:position] \
                else before_status
            assert pupil.status == expected, (step, position, pupil.status)
            node = change.waiting_node(registry)
            workflow.decide(change, pupil, users.by_login_name(deciders[resource_path(node)]), True,
                            registry=registry)
        assert change.state == workflow.APPROVED
        assert pupil.status == workflow.TYPES[kind].to_status
        if target_class is not None:
            assert pupil.__parent__ is target_class
        else:
            assert resource_path(pupil.__parent__) == before_place
