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


STEPS = [
    ("0001-initial", step_0001_initial),
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
