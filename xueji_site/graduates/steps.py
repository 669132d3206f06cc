"""The graduates feature's evolve steps."""
import logging

from xueji_site.graduates import archive, graduation, verification
from xueji_site.kernel import integrity
from xueji_site.kernel.evolve import BATCH, checkpoint

log = logging.getLogger(__name__)


def step_0004_graduate_registers(site):
    """The certificate index and verification codes (verification.py). Sites made
    after this step get them on first use as well."""
    verification.install(site)


def step_0005_record_integrity(site, batch=BATCH, commit=True):
    """Stamp the records written before record MACs existed (kernel/integrity.py).

    Only unstamped records are touched: a record whose stored MAC does not
    match is left as it is, so this step never launders a tampered record.
    Marking a record changed is enough: it is re-pickled, and the pickling
    adds the MAC. Walks the tree (archived graduates are not in the catalog)
    and commits (and trims the cache) every ``batch`` records it reads.
    """
    stamped = 0
    for seen, record in enumerate(archive.records(site), start=1):
        if integrity.check(record) == integrity.UNSTAMPED:
            record._p_changed = True
            stamped += 1
        if commit and seen % batch == 0:
            checkpoint(site)
    log.info("evolve: stamped %d records", stamped)
    return stamped


def step_0006_certificate_entry_macs(site):
    """MACs on the certificate index's entries (verification.py); older entries get theirs."""
    log.info("evolve: stamped %d certificate entries", verification.stamp_entries(site))


def includeme(config):
    config.add_evolve_step("0004-graduate-registers", step_0004_graduate_registers)
    config.add_evolve_step("0005-record-integrity", step_0005_record_integrity)
    config.add_evolve_step("0006-certificate-entry-macs", step_0006_certificate_entry_macs)
    config.add_evolve_step("0010-graduation-on-the-chain", graduation.step_0010_graduation_on_the_chain)
