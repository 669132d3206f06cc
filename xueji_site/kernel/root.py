"""Creating the root of the tree and finding it again."""
import transaction

from xueji_site.kernel import catalog, evolve, moved
from xueji_site.kernel.audit import AuditLog
from xueji_site.kernel.nodes import Site
from xueji_site.kernel.users import Principals

ROOT_KEY = "xueji"


def make_site(registry=None):
    """A new, empty site: its catalog has every declared index and every evolve step counts as applied."""
    site = Site()
    site.principals = Principals()
    site.audit = AuditLog()
    catalog.install(site, registry)
    evolve.mark_all_applied(site, registry)
    return site


def databases(registry):
    """The application's databases by name ("" is the main one), as
    pyramid_zodbconn opened them."""
    return getattr(registry, "_zodb_databases", None) or {}


def database(registry):
    """The application's main database."""
    return databases(registry)[""]


def close_databases(registry):
    """Close every database of the application (pyramid_zodbconn never does)."""
    for db in databases(registry).values():
        db.close()


def ensure_site(db, registry=None):
    """Create the site in ``db`` if it is new, then apply pending evolve steps
    (and add the declared indexes the catalog lacks).

    Runs at start-up in its own transaction, never inside the root factory.
    """
    moved.install(db)
    conn = db.open()
    try:
        tm = transaction.manager
        with tm:
            root = conn.root()
            if ROOT_KEY not in root:
                root[ROOT_KEY] = make_site(registry)
        site = conn.root()[ROOT_KEY]
        if evolve.needs_work(site, registry):
            evolve.run(site, registry)
        return True
    finally:
        transaction.abort()
        conn.close()


def get_site(conn):
    return conn.root()[ROOT_KEY]
