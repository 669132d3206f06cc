"""Named evolve steps: data migrations applied once, in order.

``site.generation`` records how many steps a database has had. A new step is
appended to STEPS with a name that says what it does; steps must be safe to
run on a database of any size (batch, commit, bounded memory).
"""
import logging

import transaction

log = logging.getLogger(__name__)


def step_0001_initial(site):
    """The first shape: nothing to migrate, the bootstrap built it."""


BATCH = 1000


def step_0002_search_indexes(site, batch=BATCH, commit=True):
    """Add the search and statistics indexes, then index every document.

    Documents come from ``site.docmap`` (no walk of the tree); every
    ``batch`` documents the work is committed and the cache trimmed, so
    memory stays bounded. Indexing twice is harmless (hypatia reindexes).
    """
    from . import catalog
    catalog.add_search_indexes(site.catalog)
    # All of them, not only those just added: a run cut short re-runs whole.
    indexes = [site.catalog[name] for name in catalog.SEARCH_INDEXES]
    reindex(site, indexes, batch=batch, commit=commit)


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
            _checkpoint(site)
    return done


def _checkpoint(site):
    """Commit in the site's own transaction manager and trim the cache."""
    jar = site._p_jar
    if jar is None:
        return
    manager = jar.transaction_manager
    manager.commit()
    if getattr(manager, "explicit", False):
        manager.begin()  # an explicit manager (scripts, tests) has none until begun
    jar.cacheGC()


def step_0003_queue_and_duplicate_indexes(site, batch=BATCH, commit=True):
    """Add the work-queue (waiting_at) and possible-duplicate (person) indexes;
    drop "path" and "name", which no query used and which cost every document a
    set of its own in each (a third of an import's index writes)."""
    from . import catalog
    for unused in ("path", "name"):
        if unused in site.catalog:
            del site.catalog[unused]
    added = catalog.add_search_indexes(site.catalog)
    reindex(site, [site.catalog[name] for name in added], batch=batch, commit=commit)


def step_0004_status_change_index(site, batch=BATCH, commit=True):
    """Add the index of approved status changes by type and period."""
    from . import catalog
    added = catalog.add_search_indexes(site.catalog)
    reindex(site, [site.catalog[name] for name in added], batch=batch, commit=commit)


def step_0004_graduate_registers(site):
    """The certificate index and verification codes (verification.py). Sites made
    after this step get them on first use as well: a new site starts at LATEST."""
    from . import verification
    verification.install(site)


def step_0005_record_integrity(site, batch=BATCH, commit=True):
    """Stamp the records written before record MACs existed (integrity.py).

    Only unstamped records are touched: a record whose stored MAC does not
    match is left as it is, so this step never launders a tampered record.
    Marking a record changed is enough: it is re-pickled, and the pickling
    adds the MAC. Walks the tree (archived graduates are not in the catalog)
    and commits (and trims the cache) every ``batch`` records it reads.
    """
    from . import integrity
    stamped = 0
    for seen, record in enumerate(integrity.records(site), start=1):
        if integrity.check(record) == integrity.UNSTAMPED:
            record._p_changed = True
            stamped += 1
        if commit and seen % batch == 0:
            _checkpoint(site)
    log.info("evolve: stamped %d records", stamped)
    return stamped


def step_0006_certificate_entry_macs(site):
    """MACs on the certificate index's entries (verification.py); older entries get theirs."""
    from . import verification
    log.info("evolve: stamped %d certificate entries", verification.stamp_entries(site))


def step_0007_former_names_in_search(site, batch=BATCH, commit=True):
    """The name tokens (index "text") now include the former name (曾用名): reindex the pupils."""
    from . import catalog
    docids = list(site.catalog["content_type"]._fwd_index.get(catalog.STUDENT, ()))
    reindex(site, [site.catalog["text"]], batch=batch, commit=commit, docids=docids)


STEPS = [
    ("0001-initial", step_0001_initial),
    ("0002-search-indexes", step_0002_search_indexes),
    ("0003-queue-and-duplicate-indexes", step_0003_queue_and_duplicate_indexes),
    ("0004-status-change-index", step_0004_status_change_index),
    ("0005-record-integrity", step_0005_record_integrity),
    ("0006-certificate-entry-macs", step_0006_certificate_entry_macs),
    ("0007-former-names-in-search", step_0007_former_names_in_search),
]

LATEST = len(STEPS)


def pending(site):
    return STEPS[site.generation:]


def run(site, commit=True):
    """Apply every pending step; each step commits on its own."""
    done = []
    for name, step in pending(site):
        log.info("evolve: %s", name)
        step(site)
        site.generation += 1
        if commit:
            transaction.get().note("evolve %s" % name)
            transaction.commit()
        done.append(name)
    return done
