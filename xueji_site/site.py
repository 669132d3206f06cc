"""Creating the root of the tree and finding it again."""
import transaction

from . import catalog, evolve
from .audit import AuditLog
from .resources import Site
from .users import Principals

ROOT_KEY = "xueji"


def make_site():
    site = Site()
    site.principals = Principals()
    site.audit = AuditLog()
    catalog.install(site)
    site.generation = evolve.LATEST
    return site


def ensure_site(db):
    """Create the site in ``db`` if it is new, then apply pending evolve steps.

    Runs at start-up in its own transaction, never inside the root factory.
    """
    conn = db.open()
    try:
        tm = transaction.manager
        with tm:
            root = conn.root()
            if ROOT_KEY not in root:
                root[ROOT_KEY] = make_site()
        site = conn.root()[ROOT_KEY]
        if evolve.pending(site):
            evolve.run(site)
        return True
    finally:
        transaction.abort()
        conn.close()


def get_site(conn):
    return conn.root()[ROOT_KEY]
