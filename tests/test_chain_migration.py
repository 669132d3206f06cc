"""Evolve steps 0007-0010: approvals of the shapes before the approval chain
(StatusChange, ChangeRequest, ExportApproval, graduation Application) become chain
requests, open ones still waiting where they waited, ids kept where users hold them."""
import sys
import time
import types

import pytest
from persistent import Persistent
from persistent.list import PersistentList
from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet
from pyramid.threadlocal import get_current_registry

from xueji_site.exports import approvals
from xueji_site.graduates import graduation
from xueji_site.kernel import chain, evolve
from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.root import database
from xueji_site.record import review
from xueji_site.status import changes as workflow

from .conftest import add_user, build_tree, open_site, resolve

OLD = {"xueji_site.workflow": ["StatusChange"], "xueji_site.review": ["ChangeRequest"],
       "xueji_site.approvals": ["ExportApproval", "Approvals"], "xueji_site.graduation": ["Application"]}


@pytest.fixture
def old_classes():
    """The removed classes, for as long as the old data is written."""
    made = {}
    for module_name, names in OLD.items():
        module = types.ModuleType(module_name)
        for name in names:
            made[name] = type(name, (Persistent,), {"__module__": module_name})
            setattr(module, name, made[name])
        sys.modules[module_name] = module
    yield made
    for module_name in OLD:
        sys.modules.pop(module_name, None)


def _old(cls, **state):
    obj = cls()
    obj.__dict__.update(state)
    return obj


def test_old_shapes_move_onto_the_chain(app, old_classes):
    now = time.time()
    with open_site(app) as site:
        n = build_tree(site, get_current_registry())
        reg = add_user(site, "reg", "school_registrar", at=n["school_a"])
        add_user(site, "head", "principal", at=n["school_a"])
        pupil, other = n["pupil_a"], n["pupil_b"]
        open_change = _old(old_classes["StatusChange"], kind="abroad", requested_by=(reg.userid, "reg"),
                           requested_at=now - 100, reason="随父母出国", source_class=n["class_a"], target_class=None,
                           target_school=None, chain=("school", "county"), position=1, step_started=now - 50,
                           state="open", attachments=PersistentList(),
                           steps=PersistentList([(now - 50, "u", "head", "school", "approve", "")]))
        closed = _old(old_classes["StatusChange"], kind="suspend", requested_by=(reg.userid, "reg"),
                      requested_at=now - 1000, reason="病", source_class=n["class_a"], target_class=None,
                      chain=("school", "county"), position=0, step_started=now - 1000, state="rejected",
                      attachments=PersistentList(), steps=PersistentList([(now - 900, "u", "head", "school",
                                                                            "reject", "材料不全")]))
        pupil.__dict__.update(status_changes=PersistentList([closed, open_change]), open_change=open_change)
        pupil._p_changed = True
        sealed = {"id_number": keyring().seal("review:id_number", "110105201703120038")}
        other.__dict__.update(pending_change=_old(old_classes["ChangeRequest"], _clear={"name": "王芳芳"},
                                                  _sealed=sealed, requested_by=("x", "regb"), requested_at=now,
                                                  reason="改名", state="bureau", steps=PersistentList()))
        other._p_changed = True
        store = _old(old_classes["Approvals"], items=OOBTree(), serials=OOBTree(), pending=OOTreeSet(),
                     by_requester=OOBTree())
        store.items["EA20261201-0003"] = _old(
            old_classes["ExportApproval"], id="EA20261201-0003", requester=(reg.userid, "reg"),
            scope="/110000/110105/2111000001/2024-03", kind="internal", purpose="核对", recipient="",
            export="listing", type_name="Student", conditions="", max_rows=80, valid_days=7, requested_at=now,
            status="pending", approver=None, note="", decided_at=None, expires_at=None, used_at=None,
            used_rows=None)
        store.serials["20261201"] = Length(3)
        store.by_requester[reg.userid] = OOTreeSet(["EA20261201-0003"])
        site.export_approvals = store
        site.graduation_queue = OOBTree({"/x/2022": _old(
            old_classes["Application"], school=n["school_b"], cohort=2024, outcomes={},
            requested_by=("y", "regb"), requested_at=now)})
        site.evolved.remove("0007-status-changes-on-the-chain")
        for name in ("0008-key-changes-on-the-chain", "0009-export-approvals-on-the-chain",
                     "0010-graduation-on-the-chain"):
            site.evolved.remove(name)
    for module_name in OLD:  # the classes are gone, as in today's code
        sys.modules.pop(module_name)
    database(app.registry).cacheMinimize()
    with open_site(app) as site:
        assert evolve.run(site, app.registry, commit=False)[:4] == [
            "0007-status-changes-on-the-chain", "0008-key-changes-on-the-chain",
            "0009-export-approvals-on-the-chain", "0010-graduation-on-the-chain"]
        pupil, other = resolve(site, "/110000/110105/2111000001/2024-03"), None
        pupil = next(iter(resolve(site, "/110000/110105/2111000001/2024-03").values()))
        other = next(iter(resolve(site, "/110000/110108/2111000002/2024-01").values()))
        assert "open_change" not in pupil.__dict__ and "status_changes" not in pupil.__dict__
        past, now_open = workflow.changes_of(pupil)
        assert (past.state, past.decisions[-1][5]) == ("rejected", "材料不全")
        assert workflow.open_change_of(pupil) is now_open and now_open.waiting_step == "county"
        assert now_open in chain.waiting_at(site, resolve(site, "/110000/110105"), workflow.PROCESS)
        pending = review.pending_of(other)
        assert review.proposed(pending) == {"name": "王芳芳", "id_number": "110105201703120038"}
        assert pending.waiting_step == "bureau"
        approval = approvals.get(site, "EA20261201-0003")
        assert approval.state() == approvals.PENDING and approval.max_rows == 80
        reg = site.principals.by_login_name("reg")
        assert [a.id for a in approvals.requested_by(site, reg)] == ["EA20261201-0003"]
        head = site.principals.by_login_name("head")
        assert [a.id for a in approvals.waiting_for(site, head)] == ["EA20261201-0003"]
        assert chain.store(site).next_id("EA", time.mktime((2026, 12, 1, 12, 0, 0, 0, 0, -1))) \
            == "EA20261201-0004"  # the day's serials go on
        [application] = graduation.waiting(resolve(site, "/110000/110108"))
        assert application.payload["cohort"] == 2024
        assert "export_approvals" not in site.__dict__ and "graduation_queue" not in site.__dict__
        assert "waiting_at" not in site.catalog
