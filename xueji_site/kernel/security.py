"""Roles, local roles, the role × type permission matrix and the security policy.

ACLs grant permissions to roles only (``role:school_registrar``). Each node
keeps a principal → roles map; a user's roles at a node are gathered by
walking up the lineage, so authority follows the tree. Every change to an
ACL or to local roles goes through ``set_acl`` / ``set_local_roles``, which
fire ``SecurityChanged``.
"""
from dataclasses import dataclass

from persistent.list import PersistentList
from persistent.mapping import PersistentMapping
from pyramid.authorization import ACLAllowed, ACLHelper, Allow, Authenticated, DENY_ALL, Everyone
from pyramid.location import lineage
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import find_root

from xueji_site.kernel import breakglass, events
from xueji_site.kernel import permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.registry import content_registry

# -- roles -----------------------------------------------------------------
# The names of the roles. What each may do on each type of node is part of
# that type's registration (``permissions``); where a role may be granted, its
# rank and whether it needs a second factor, of its own (``add_role``).

SYSADMIN = "sysadmin"
SECURITY_ADMIN = "security_admin"
AUDITOR = "auditor"
BUREAU_ADMIN = "bureau_admin"
PRINCIPAL = "principal"
SCHOOL_REGISTRAR = "school_registrar"
HEAD_TEACHER = "head_teacher"
TEACHER = "teacher"
GUARDIAN = "guardian"

# 三员分立 (MLPS 8.1.4.2d): system, security and audit duties are held by
# different people. Nobody holds two of these; the security administrator alone
# grants and revokes the system administrator and auditor roles (the security
# administrator role itself only by the operator's ``xueji-adduser``).
DUTY_ROLES = frozenset({SYSADMIN, SECURITY_ADMIN, AUDITOR})


class SeparationOfDuties(ValueError):
    """A grant that would give one principal two of the DUTY_ROLES."""


@dataclass(frozen=True)
class Role:
    name: str
    label: object
    rank: int                 # who may grant it: a holder of a higher rank (or equal, from above)
    grantable_on: tuple       # the node types where it may be granted
    second_factor: bool = False  # its holders log in with a second factor (MLPS 8.1.4.1d)


def add_role(config, name, label, rank, grantable_on, second_factor=False):
    """``config.add_role(name, label, rank, grantable_on=(type names), second_factor=False)``."""
    role = Role(name, label, rank, tuple(grantable_on), second_factor)
    registry = config.registry

    def register():
        roles_of(registry)[name] = role

    config.action(("xueji-role", name), register)


def roles_of(registry=None):
    """name -> Role, as registered (in registration order)."""
    registry = registry if registry is not None else get_current_registry()
    found = getattr(registry, "xueji_roles", None)
    if found is None:
        found = registry.xueji_roles = {}
    return found


def role_principal(role):
    return "role:" + role


def role_label(role, registry=None):
    found = roles_of(registry).get(role)
    return found.label if found is not None else role


def second_factor_roles(registry=None):
    return frozenset(name for name, role in roles_of(registry).items() if role.second_factor)


# -- the matrix, read from the registrations --------------------------------------

def matrix(registry=None):
    """type name -> role -> permissions, from every registration (for checks and the docs)."""
    return {ct.name: {role: frozenset(perms) for role, perms in ct.permissions.items()}
            for ct in content_registry(registry).all()}


def permissions_of(type_name, role, registry=None):
    ct = content_registry(registry).find(type_name)
    return frozenset(ct.permissions.get(role, ())) if ct is not None else frozenset()


def type_acl(type_name, registry=None):
    """The ACL every node of ``type_name`` has unless one was set on it.

    A type nobody registered has nothing but the final deny: default deny.
    """
    types = content_registry(registry)
    cache = types.acl_cache()
    acl = cache.get(type_name)
    if acl is None:
        ct = types.find(type_name)
        acl = []
        if ct is not None:
            for role, perms in sorted(ct.permissions.items()):
                acl.append((Allow, role_principal(role), tuple(sorted(perms))))
            acl.extend(ct.acl_extra)
        acl.append(DENY_ALL)  # the type's ACL is the whole answer: nothing leaks from above
        acl = cache[type_name] = tuple(acl)
    return acl


def roles_with(type_name, permission, registry=None):
    """Roles that hold ``permission`` on nodes of ``type_name``."""
    ct = content_registry(registry).find(type_name)
    return {role for role, perms in (ct.permissions.items() if ct is not None else ()) if permission in perms}


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
    known = roles_of(registry)
    for role in roles:
        if role not in known:
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
        # a record opened by break-glass: still only for a holder of BREAK_GLASS there
        if breakglass.is_open(user, context) and _ACL.permits(context, principals, P.BREAK_GLASS):
            return ACLAllowed("<break-glass>", context.__acl__, permission, principals, context)
    return allowed


def may_grant(user, node, role):
    """Whether ``user`` may grant ``role`` at ``node``.

    The role must be grantable on this node's type, and the granter must hold
    here (or above) a role that outranks it, or an equal rank at a strict
    ancestor (a city bureau admin may make a county bureau admin).
    """
    known = roles_of()
    if role not in known or node.content_type not in known[role].grantable_on:
        return False
    if role in DUTY_ROLES:  # 三员: only the security administrator grants the other two
        base = [user.userid] + list(getattr(user, "groups", ()))
        return role != SECURITY_ADMIN and SECURITY_ADMIN in gather_roles(node, base)
    if not permits(user, node, P.SHARE):
        return False
    rank = known[role].rank
    base = [user.userid] + list(getattr(user, "groups", ()))
    for depth, ancestor in enumerate(lineage(node)):
        table = getattr(ancestor, "local_roles", None)
        if not table:
            continue
        for principal in base:
            for held in table.get(principal, ()):
                held_rank = known[held].rank if held in known else 0
                if held_rank > rank or (held_rank == rank and depth > 0):
                    return True
    return False


def grantable_roles(user, node):
    return [role for role in roles_of() if may_grant(user, node, role)]


def view_scope(site, user):
    """Nodes under which ``user`` may view, for scoping catalog queries."""
    holders = [user] + [site.principals.get(g) for g in getattr(user, "groups", ())]
    holders = [h for h in holders if h is not None]
    scope = []
    for holder in holders:
        for node in getattr(holder, "places", ()) or ():
            roles = local_roles_of(node, holder.userid)
            if any(P.VIEW in permissions_of(node.content_type, r) for r in roles):
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
    config.add_directive("add_role", add_role)
    config.add_subscriber(forget_removed_places, events.ObjectWillBeRemoved)
    config.add_role(SYSADMIN, _("系统管理员"), 100, ("Site",), second_factor=True)
    config.add_role(SECURITY_ADMIN, _("安全管理员"), 100, ("Site",), second_factor=True)
    config.add_role(AUDITOR, _("审计员"), 100, ("Site",))
