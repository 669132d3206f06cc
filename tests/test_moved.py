"""Databases written before the modules moved still load: classes and hypatia's
pickled discriminators are found at their new places (kernel/moved.py)."""
import importlib
import pickle

import transaction
from ZODB import DB
from ZODB.MappingStorage import MappingStorage
from ZODB.utils import z64

from xueji_site.kernel import moved
from xueji_site.record.models import Student
from xueji_site.search import indexes


def test_new_place_of_moved_and_split_modules():
    assert moved.new_place("xueji_site.workflow", "StatusChange") == ("xueji_site.status.changes", "StatusChange")
    assert moved.new_place("xueji_site.resources", "Student") == ("xueji_site.record.models", "Student")
    assert moved.new_place("xueji_site.resources", "School") == ("xueji_site.tree.nodes", "School")
    assert moved.new_place("xueji_site.catalog", "_workflow_disc_changes") == ("xueji_site.status.changes",
                                                                              "disc_changes")
    for module, name in moved.NAMES.values():  # every table entry names something that exists
        assert getattr(importlib.import_module(module), name, None) is not None, (module, name)
    for module, name in moved.GONE.values():  # and a retired shape nothing: it loads broken
        assert getattr(importlib.import_module(module), name, None) is None, (module, name)
    assert moved.new_place("persistent.mapping", "PersistentMapping") == ("persistent.mapping", "PersistentMapping")


def test_a_record_pickled_under_old_names_loads():
    storage = MappingStorage()
    db = moved.install(DB(storage))
    conn = db.open()
    root = conn.root()
    root["x"] = 1
    transaction.commit()
    conn.close()
    # A Student under its old module name, whose state holds a discriminator
    # function by its old module name too (as a hypatia index does).
    state = pickle.dumps({"name": "李明", "disc": indexes.disc_text}, 3)
    state = state.replace(b"xueji_site.search.indexes", b"xueji_site.catalog")
    assert b"cxueji_site.catalog\ndisc_text\n" in state
    oid = b"\0" * 7 + b"\x09"
    txn = transaction.Transaction()
    storage.tpc_begin(txn)
    storage.store(oid, z64, pickle.dumps((("xueji_site.resources", "Student"), None), 3) + state, "", txn)
    storage.tpc_vote(txn)
    storage.tpc_finish(txn)
    conn = db.open()
    try:
        obj = conn.get(oid)
        assert isinstance(obj, Student)
        assert obj.name == "李明"
        assert obj.__dict__["disc"] is indexes.disc_text
    finally:
        conn.close()
        db.close()
