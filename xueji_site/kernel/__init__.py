"""The kernel: what every feature builds on, knowing no record type.

The tree's mechanics (folder, nodes, events), the content-type registry and
sub-record collections, security (roles, local roles, the policy) and
authentication, the catalog's mechanics, the audit log, field crypto,
settings, the approval chain and evolve steps. ``includeme`` adds the
configuration directives the features register with, and the subscribers
that keep the catalog, the audit log and the histories in step with every
change, whoever makes it.
"""


def includeme(config):
    config.include("xueji_site.kernel.registration")
