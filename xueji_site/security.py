"""Roles, local roles, the role × type permission matrix and the security policy.

ACLs grant permissions to roles only (``role:school_registrar``). Each node
keeps a principal → roles map; a user's roles at a node are gathered by
walking up the lineage, so authority follows the tree. Every change to an
ACL or to local roles goes through ``set_acl`` / ``set_local_roles``, which
fire ``SecurityChanged``.
"""
from persistent.list import PersistentList
from persistent.mapping import PersistentMapping
from pyramid.authorization import ACLAllowed, ACLHelper, Allow, Authenticated, Everyone, DENY_ALL
from pyramid.location import lineage

from . import events
from . import permissions as P
from .i18n import _

# -- roles -----------------------------------------------------------------

SYSADMIN = "sysadmin"
SECURITY_ADMIN = "security_admin"
AUDITOR = "auditor"
BUREAU_ADMIN = "bureau_admin"
PRINCIPAL = "principal"
SCHOOL_REGISTRAR = "school_registrar"
HEAD_TEACHER = "head_teacher"
TEACHER = "teacher"
GUARDIAN = "guardian"

# role → (label, rank, the node types where it may be granted)
ROLES = {
    SYSADMIN: (_("系统管理员"), 100, ("Site",)),
    SECURITY_ADMIN: (_("安全管理员"), 100, ("Site",)),
    AUDITOR: (_("审计员"), 100, ("Site",)),
    BUREAU_ADMIN: (_("教育局管理员"), 80, ("Bureau",)),
    PRINCIPAL: (_("校长"), 60, ("School",)),
    SCHOOL_REGISTRAR: (_("学籍管理员"), 50, ("School",)),
    HEAD_TEACHER: (_("班主任"), 40, ("SchoolClass",)),
    TEACHER: (_("任课教师"), 30, ("SchoolClass",)),
    GUARDIAN: (_("监护人"), 10, ("Student",)),
}


# 三员分立 (MLPS 8.1.4.2d): system, security and audit duties are held by
# different people. Nobody holds two of these; the security administrator alone
# grants and revokes the system administrator and auditor roles (the security
# administrator role itself only by the operator's ``xueji-adduser``).
DUTY_ROLES = frozenset({SYSADMIN, SECURITY_ADMIN, AUDITOR})


class SeparationOfDuties(ValueError):
    """A grant that would give one principal two of the DUTY_ROLES."""


def role_principal(role):
    return "role:" + role


def role_label(role):
    return ROLES[role][0] if role in ROLES else role


# -- the matrix ------------------------------------------------------------
# type → role → permissions. A role granted at a node applies to the node and
# everything below it; a type not listing a role gives it nothing there.
_STRUCTURE_ADMIN = {P.VIEW, P.ADD, P.EDIT, P.DELETE, P.SHARE}
_RECORD_FULL = {P.VIEW, P.VIEW_RECORD, P.VIEW_SENSITIVE}

# APPROVE_EXPORT (G3/G4): a principal approves the bulk exports of the
# school's pupils, a bureau admin those of its subtree; approvals.py adds what
# a matrix cannot say (never one's own request; an external export only by a
# bureau admin of a bureau above).
#
# 三员分立 and least privilege (MLPS 8.1.4.2): the system administrator runs the
# system, not the registry. It keeps the structure (bureaus, schools, classes)
# and may open a pupil's record, but sees ID numbers, 学籍号, addresses, phones
# and guardians' IDs masked: no VIEW_SENSITIVE anywhere. When running the system
# needs one record in full, BREAK_GLASS opens that record alone for a short
# time, with a reason, audited and alerted (breakglass.py).
MATRIX = {
    "Site": {
        SYSADMIN: {P.VIEW, P.ADD, P.EDIT, P.SHARE, P.MANAGE_USERS},
        SECURITY_ADMIN: {P.VIEW, P.SHARE, P.MANAGE_USERS},
        AUDITOR: {P.AUDIT},
    },
    "Bureau": {
        SYSADMIN: _STRUCTURE_ADMIN,
        SECURITY_ADMIN: {P.VIEW, P.SHARE},
        BUREAU_ADMIN: {P.VIEW, P.ADD, P.EDIT, P.SHARE, P.APPROVE_BUREAU, P.GRADUATE, P.APPROVE_EXPORT},
    },
    "School": {
        SYSADMIN: _STRUCTURE_ADMIN,
        SECURITY_ADMIN: {P.VIEW, P.SHARE},
        BUREAU_ADMIN: _STRUCTURE_ADMIN | {P.GRADUATE, P.APPROVE_EXPORT},
        PRINCIPAL: {P.VIEW, P.SHARE, P.APPROVE_SCHOOL, P.GRADUATE, P.APPROVE_EXPORT},
        SCHOOL_REGISTRAR: {P.VIEW, P.ADD, P.EDIT, P.SHARE, P.GRADUATE},
    },
    "SchoolClass": {
        SYSADMIN: _STRUCTURE_ADMIN,
        SECURITY_ADMIN: {P.VIEW, P.SHARE},
        BUREAU_ADMIN: _STRUCTURE_ADMIN | {P.APPROVE_EXPORT},
        PRINCIPAL: {P.VIEW, P.SHARE, P.APPROVE_EXPORT},
        SCHOOL_REGISTRAR: _STRUCTURE_ADMIN,
        HEAD_TEACHER: {P.VIEW},
        TEACHER: {P.VIEW},
    },
    "Student": {
        SYSADMIN: {P.VIEW, P.VIEW_RECORD, P.ADD, P.EDIT, P.DELETE, P.SHARE, P.BREAK_GLASS},
        SECURITY_ADMIN: {P.VIEW, P.SHARE},
        BUREAU_ADMIN: _RECORD_FULL | {P.ADD, P.EDIT, P.DELETE, P.SHARE, P.APPROVE_BUREAU, P.REQUEST_CHANGE,
                                      P.TRACK_GRADUATES},
        PRINCIPAL: _RECORD_FULL | {P.SHARE, P.APPROVE_SCHOOL, P.REQUEST_CHANGE, P.TRACK_GRADUATES, P.ISSUE_CODE},
        SCHOOL_REGISTRAR: _RECORD_FULL | {P.ADD, P.EDIT, P.DELETE, P.SHARE, P.REQUEST_CHANGE,
                                          P.TRACK_GRADUATES, P.ISSUE_CODE},
        HEAD_TEACHER: {P.VIEW, P.VIEW_RECORD, P.ADD, P.EDIT},
        TEACHER: {P.VIEW},
        GUARDIAN: _RECORD_FULL | {P.ISSUE_CODE, P.GUARDIAN_REQUEST},
    },
    # A school's archive of graduates (archive.py): read-only for everyone — no
    # add, edit, delete or share — but destinations may be tracked and holders
    # may issue verification codes. Set on each Archive through set_acl.
    "Archive": {
        SYSADMIN: {P.VIEW, P.VIEW_RECORD},
        SECURITY_ADMIN: {P.VIEW},
        BUREAU_ADMIN: _RECORD_FULL | {P.TRACK_GRADUATES},
        PRINCIPAL: _RECORD_FULL | {P.TRACK_GRADUATES, P.ISSUE_CODE},
        SCHOOL_REGISTRAR: _RECORD_FULL | {P.TRACK_GRADUATES, P.ISSUE_CODE},
        GUARDIAN: {P.VIEW_RECORD, P.VIEW_SENSITIVE, P.ISSUE_CODE},
    },
    # Family members are part of the record: who may read the record may read them.
    "FamilyMember": {
        SYSADMIN: {P.VIEW, P.VIEW_RECORD, P.EDIT, P.DELETE, P.BREAK_GLASS},
        SECURITY_ADMIN: {P.VIEW},
        BUREAU_ADMIN: _RECORD_FULL | {P.EDIT, P.DELETE},
        PRINCIPAL: _RECORD_FULL,
        SCHOOL_REGISTRAR: _RECORD_FULL | {P.EDIT, P.DELETE},
        HEAD_TEACHER: {P.VIEW, P.VIEW_RECORD, P.EDIT, P.DELETE},
        TEACHER: {P.VIEW},
        GUARDIAN: _RECORD_FULL,
    },
}

_TYPE_ACLS = {}


def type_acl(type_name):
    """The ACL every node of ``type_name`` has unless one was set on it."""
    acl = _TYPE_ACLS.get(type_name)
    if acl is None:
        acl = []
        for role, perms in sorted(MATRIX.get(type_name, {}).items()):
            acl.append((Allow, role_principal(role), tuple(sorted(perms))))
        if type_name == "Site":
            acl.append((Allow, Authenticated, (P.ACCOUNT,)))
        acl.append(DENY_ALL)  # the type's ACL is the whole answer: nothing leaks from above
        acl = _TYPE_ACLS[type_name] = tuple(acl)
    return acl


def roles_with(type_name, permission):
    """Roles that hold ``permission`` on nodes of ``type_name``."""
    return {role for role, perms in MATRIX.get(type_name, {}).items() if permission in perms}


# -- ACL and local roles: the one way to change them ----------------------

def set_acl(node, acl, registry=None):
    """Give ``node`` its own ACL (None: back to its type's). Fires SecurityChanged."""
    before = node.acl
    node.acl = tuple(acl) if acl is not None else None
    events.notify(events.SecurityChanged(node, None, before or (), node.acl or ()), registry)


def local_roles_of(node, principal):
    table = getattr(node, "local_roles", None)
    return tuple(table.get(principal, ())) if table else ()


def set_local_roles(node, principal, roles, registry=None, user=None):
    """Set ``principal``'s roles on ``node`` (empty: remove). Fires SecurityChanged.

    ``user``, when given, is the User (or Group) object behind ``principal``:
    its list of places is kept in step so that scoped catalog queries can
    find where it holds roles without walking the tree.
    """
    roles = tuple(sorted(set(roles)))
    for role in roles:
        if role not in ROLES:
            raise ValueError("unknown role %r" % role)
    if len(DUTY_ROLES.intersection(roles)) > 1:
        raise SeparationOfDuties("one principal may hold only one of %s" % ", ".join(sorted(DUTY_ROLES)))
    if getattr(node, "local_roles", None) is None:
        node.local_roles = PersistentMapping()
    before = tuple(node.local_roles.get(principal, ()))
    if roles:
        node.local_roles[principal] = roles
    else:
        node.local_roles.pop(principal, None)
    if user is not None:
        _track_place(user, node, bool(roles))
    events.notify(events.SecurityChanged(node, principal, before, roles), registry)
    return before


def _track_place(holder, node, present):
    places = getattr(holder, "places", None)
    if places is None:
        places = holder.places = PersistentList()
    known = any(p is node for p in places)
    if present and not known:
        places.append(node)
    elif not present and known:
        holder.places = PersistentList(p for p in places if p is not node)


def gather_roles(context, principals):
    """The roles ``principals`` hold at ``context``, gathered up the lineage."""
    found = set()
    for node in lineage(context):
        table = getattr(node, "local_roles", None)
        if table:
            for principal in principals:
                found.update(table.get(principal, ()))
    return found


def effective_principals(user, context):
    principals = [Everyone]
    if user is None:
        return principals
    base = [user.userid] + list(getattr(user, "groups", ()))
    principals += [Authenticated] + base
    principals += [role_principal(r) for r in sorted(gather_roles(context, base))]
    return principals


_ACL = ACLHelper()


def permits(user, context, permission):
    principals = effective_principals(user, context)
    allowed = _ACL.permits(context, principals, permission)
    if not allowed and permission == P.VIEW_SENSITIVE and getattr(user, "break_glass", None):
        from . import breakglass  # a record opened by break-glass: still only for a holder of BREAK_GLASS
        if breakglass.is_open(user, context) and _ACL.permits(context, principals, P.BREAK_GLASS):
            return ACLAllowed("<break-glass>", context.__acl__, permission, principals, context)
    return allowed


def may_grant(user, node, role):
    """Whether ``user`` may grant ``role`` at ``node``.

    The role must be grantable on this node's type, and the granter must hold
    here (or above) a role that outranks it, or an equal rank at a strict
    ancestor (a city bureau admin may make a county bureau admin).
    """
    if role not in ROLES or node.content_type not in ROLES[role][2]:
        return False
    if role in DUTY_ROLES:  # 三员: only the security administrator grants the other two
        base = [user.userid] + list(getattr(user, "groups", ()))
        return role != SECURITY_ADMIN and SECURITY_ADMIN in gather_roles(node, base)
    if not permits(user, node, P.SHARE):
        return False
    rank = ROLES[role][1]
    base = [user.userid] + list(getattr(user, "groups", ()))
    for depth, ancestor in enumerate(lineage(node)):
        table = getattr(ancestor, "local_roles", None)
        if not table:
            continue
        for principal in base:
            for held in table.get(principal, ()):
                held_rank = ROLES.get(held, ("", 0))[1]
                if held_rank > rank or (held_rank == rank and depth > 0):
                    return True
    return False


def grantable_roles(user, node):
    return [role for role in ROLES if may_grant(user, node, role)]


def view_scope(site, user):
    """Nodes under which ``user`` may view, for scoping catalog queries."""
    holders = [user] + [site.principals.get(g) for g in getattr(user, "groups", ())]
    holders = [h for h in holders if h is not None]
    scope = []
    for holder in holders:
        for node in getattr(holder, "places", ()) or ():
            roles = local_roles_of(node, holder.userid)
            if any(P.VIEW in MATRIX.get(node.content_type, {}).get(r, ()) for r in roles):
                scope.append(node)
    return scope


# -- places of removed nodes -------------------------------------------------

def _with_descendants(node):
    yield node
    values = getattr(node, "values", None)
    if callable(values) and getattr(node, "content_type", None) is not None:
        for child in values():
            yield from _with_descendants(child)


def forget_removed_places(event):
    """A removed node (or anything under it) leaves the places of those holding roles there.

    Otherwise a guardian's list of places keeps a deleted pupil reachable, and
    the record survives every pack (security.md F1).
    """
    from pyramid.traversal import find_root
    site = find_root(event.parent)
    principals = getattr(site, "principals", None)
    if principals is None:
        return
    for node in _with_descendants(event.object):
        for principal in list((getattr(node, "local_roles", None) or {}).keys()):
            holder = principals.get(principal)
            if holder is not None:
                _track_place(holder, node, False)


def includeme(config):
    config.add_subscriber(forget_removed_places, events.ObjectWillBeRemoved)
