"""Teaching assignments (任课安排): who teaches which subject in which class, per term.

An assignment is a fact on the class (``klass.teaching[term][subject]`` = userids)
and a local role: assigning a teacher grants them the 任课教师 role on the class
(through ``security.set_local_roles``, which fires its event and keeps their
places), so the ordinary ACLs let them open the class's grid; which subjects
they may enter is the assignment's. Removing a teacher's last assignment in a
class takes the role away again (unless they hold it for another term).
"""
from persistent.mapping import PersistentMapping

from xueji_site.kernel import security
from xueji_site.kernel.security import TEACHER


def teaching(klass, term):
    """{subject: (userid, ...)} of ``klass`` in ``term``."""
    table = getattr(klass, "teaching", None)
    return dict(table.get(term, {})) if table else {}


def subjects_of(klass, term, userid):
    return sorted(s for s, ids in teaching(klass, term).items() if userid in ids)


def teaches(klass, term, subject, userid):
    return userid in teaching(klass, term).get(subject, ())


def _still_teaches(klass, userid):
    table = getattr(klass, "teaching", None) or {}
    return any(userid in ids for by_subject in table.values() for ids in by_subject.values())


def assign(klass, term, subject, user, registry=None):
    table = getattr(klass, "teaching", None)
    if table is None:
        table = klass.teaching = PersistentMapping()
    by_subject = dict(table.get(term, {}))
    by_subject[subject] = tuple(sorted(set(by_subject.get(subject, ())) | {user.userid}))
    table[term] = by_subject
    roles = set(security.local_roles_of(klass, user.userid))
    if TEACHER not in roles:
        security.set_local_roles(klass, user.userid, roles | {TEACHER}, registry=registry, user=user)


def unassign(klass, term, subject, user, registry=None):
    table = getattr(klass, "teaching", None)
    if not table or term not in table:
        return
    by_subject = dict(table[term])
    left = tuple(u for u in by_subject.get(subject, ()) if u != user.userid)
    if left:
        by_subject[subject] = left
    else:
        by_subject.pop(subject, None)
    table[term] = by_subject
    if not _still_teaches(klass, user.userid):
        roles = set(security.local_roles_of(klass, user.userid)) - {TEACHER}
        security.set_local_roles(klass, user.userid, roles, registry=registry, user=user)
