"""Named evolve steps: data migrations applied once each, recorded by name.

A feature registers its steps from its ``includeme`` with
``config.add_evolve_step(name, step)``; names sort in the order they run
("0007-..."). ``site.evolved`` (a tree set) holds the names applied to a
database, so a step added by one feature never renumbers another's. A
database from before names were recorded counts the first
``site.generation`` steps of ``LEGACY_ORDER`` as done.

Besides the named steps, the runner keeps the catalog in step with the
indexes the features declare (``config.add_index``): a declared index the
catalog lacks is added and filled from the document map, in batches. That
one generic step is why adding an index needs no evolve step of its own.

Steps must be safe on a database of any size: batch, commit (``checkpoint``),
keep memory bounded.
"""
import logging

import transaction
from BTrees.OOBTree import OOTreeSet
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import catalog

log = logging.getLogger(__name__)

BATCH = 1000
INDEX_STEP = "declared-indexes"  # what the generic step is noted as, in the transaction log

# The steps as they were numbered before names were recorded (site.generation
# counted them): generation N means the first N were applied.
LEGACY_ORDER = ("0001-initial", "0002-search-indexes", "0003-queue-and-duplicate-indexes",
                "0004-status-change-index", "0005-record-integrity", "0006-certificate-entry-macs")


def add_evolve_step(config, name, step):
    """``config.add_evolve_step(name, step)``: ``step(site)`` runs once per database."""
    registry = config.registry

    def register():
        steps_of(registry)[name] = step

    config.action(("xueji-evolve-step", name), register)


def steps_of(registry=None):
    registry = registry if registry is not None else get_current_registry()
    found = getattr(registry, "xueji_evolve_steps", None)
    if found is None:
        found = registry.xueji_evolve_steps = {}
    return found


def applied(site):
    """The names of the steps applied to ``site`` (made from ``generation`` on first use)."""
    done = getattr(site, "evolved", None)
    if done is None:
        done = site.evolved = OOTreeSet(LEGACY_ORDER[:getattr(site, "generation", 0) or 0])
    return done


def mark_all_applied(site, registry=None):
    """A new site starts with every step applied: the bootstrap builds today's shape."""
    site.evolved = OOTreeSet(steps_of(registry))


def pending(site, registry=None):
    """(name, step) not yet applied, in name order."""
    done = applied(site)
    return [(name, step) for name, step in sorted(steps_of(registry).items()) if name not in done]


def needs_work(site, registry=None):
    return bool(pending(site, registry) or catalog.missing_indexes(site, registry))


def run(site, registry=None, commit=True):
    """Add the declared indexes the catalog lacks, apply every pending step, then
    fill the indexes added; each step commits."""
    done = []
    added = catalog.add_missing_indexes(site, registry)  # first, empty: a step may read or fill them
    for name, step in pending(site, registry):
        log.info("evolve: %s", name)
        step(site)
        applied(site).insert(name)
        _note_and_commit(commit, name)
        done.append(name)
    if added:
        log.info("evolve: indexing %s", ", ".join(added))
        reindex(site, [site.catalog[name] for name in added], commit=commit)
        _note_and_commit(commit, "%s (%s)" % (INDEX_STEP, ", ".join(added)))
        done.append(INDEX_STEP)
    return done


def _note_and_commit(commit, name):
    if commit:
        transaction.get().note("evolve %s" % name)
        transaction.commit()


def reindex(site, indexes, batch=BATCH, commit=True, docids=None, progress=None):
    """Index the documents ``docids`` (default: all) into ``indexes``."""
    done = 0
    for docid in list(site.docmap.keys()) if docids is None else docids:
        obj = site.docmap.get(docid)
        if obj is not None:
            for index in indexes:
                index.reindex_doc(docid, obj)
        done += 1
        if progress is not None:
            progress(1)
        if commit and done % batch == 0:
            checkpoint(site)
    return done


def checkpoint(site):
    """Commit in the site's own transaction manager and trim the cache."""
    jar = site._p_jar
    if jar is None:
        return
    manager = jar.transaction_manager
    manager.commit()
    if getattr(manager, "explicit", False):
        manager.begin()  # an explicit manager (scripts, tests) has none until begun
    jar.cacheGC()


# -- the kernel's own steps ---------------------------------------------------------

def step_0001_initial(site):
    """The first shape: nothing to migrate, the bootstrap built it."""


def step_0002_search_indexes(site):
    """Added the search and statistics indexes; now the generic step adds declared indexes."""


def step_0003_queue_and_duplicate_indexes(site):
    """Drop the "path" and "name" indexes, which no query used and which cost every
    document a set of its own in each (a third of an import's index writes). The
    work-queue and duplicate indexes that came with this step are declared
    indexes now, added by the generic step."""
    for unused in ("path", "name"):
        if unused in site.catalog:
            del site.catalog[unused]


def step_0004_status_change_index(site):
    """Added the index of approved status changes; now a declared index of xueji_site.status."""


def includeme(config):
    config.add_directive("add_evolve_step", add_evolve_step)
    config.add_evolve_step("0001-initial", step_0001_initial)
    config.add_evolve_step("0002-search-indexes", step_0002_search_indexes)
    config.add_evolve_step("0003-queue-and-duplicate-indexes", step_0003_queue_and_duplicate_indexes)
    config.add_evolve_step("0004-status-change-index", step_0004_status_change_index)
