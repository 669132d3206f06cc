"""What every tree node is: ``Node`` (type name, ACL, local roles, timestamps)
and ``Site``, the root. The node types of the tree itself (bureaus, schools,
classes) live in ``xueji_site.tree``; pupils' records in ``xueji_site.record``.
"""
import time

from persistent import Persistent

from xueji_site.kernel.folder import Container
from xueji_site.kernel.i18n import _
from xueji_site.kernel.security import type_acl


class Node:
    """What every tree node has: a type name, its ACL, local roles, timestamps."""

    content_type = None
    acl = None          # a node-specific ACL set through security.set_acl
    local_roles = None  # principal → roles, set through security.set_local_roles
    created = 0.0
    modified = 0.0
    docid = None        # the catalog's document id

    @property
    def __acl__(self):
        return self.acl if self.acl is not None else type_acl(self.content_type)

    def touch(self):
        self.modified = time.time()

    @property
    def sort_title(self):
        return self.title


class Site(Node, Container):
    """The root: national tree of bureaus, plus principals, catalog and audit log."""

    content_type = "Site"
    title = _("全国学籍管理")

    def __init__(self):
        Container.__init__(self)
        self.generation = 0
        self.principals = None
        self.audit = None
        self.catalog = None
        self.docmap = None

    @property
    def sort_title(self):
        return ""


class Leaf(Node, Persistent):
    """A node without children: part of a record kept among its parent's children
    (a family member). It gets the generic record page (views/generic.py)."""
