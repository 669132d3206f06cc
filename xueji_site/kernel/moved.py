"""Where the classes and functions that databases name have moved to.

A ZODB record names its class by module and name, and a hypatia index names
its discriminator the same way, so a module that moves would leave every
existing database unreadable. Each database the application opens gets
``class_factory`` as its ``classFactory``: a name found in these tables is
looked up at its new place; any other name as it is. Objects written again
are pickled under the new names, so the tables only ever grow.
"""
from ZODB.broken import find_global

_OLD = "xueji_site."
# A module that moved whole: old dotted name → new.
MODULES = {_OLD + old: "xueji_site." + new for old, new in {
    "folder": "kernel.folder", "events": "kernel.events", "content": "kernel.content",
    "permissions": "kernel.permissions", "security": "kernel.security", "policy": "kernel.policy",
    "catalog": "kernel.catalog", "audit": "kernel.audit", "audit_mirror": "kernel.audit_mirror",
    "alerts": "kernel.alerts", "crypto": "kernel.crypto", "i18n": "kernel.i18n", "evolve": "kernel.evolve",
    "site": "kernel.root", "history": "kernel.history", "inventory": "kernel.inventory",
    "integrity": "kernel.integrity", "mail": "kernel.mail", "transport": "kernel.transport",
    "compile_lock": "kernel.compile_lock", "ratelimit": "kernel.ratelimit", "users": "kernel.users",
    "apitokens": "kernel.apitokens", "attachments": "kernel.attachments",
    "spreadsheets": "kernel.spreadsheets", "lookup_audit": "kernel.lookup_audit", "captchas": "kernel.captchas",
    "codes": "standards.codes", "divisions": "standards.divisions", "idnumbers": "standards.idnumbers",
    "photos": "record.photos", "duplicates": "record.duplicates", "review": "record.review",
    "batch": "record.batch", "workflow": "status.changes", "graduation": "graduates.graduation",
    "certificates": "graduates.certificates", "verification": "graduates.verification",
    "archive": "graduates.archive", "retention": "graduates.retention",
    "destinations": "graduates.destinations", "search": "search.query", "reports": "search.reports",
    "approvals": "exports.approvals", "importing": "imports.importing", "importfiles": "imports.importfiles",
}.items()}
# A module that was split: (old module, name) → (new module, name).
_SEARCH, _STATUS = "xueji_site.search.indexes", "xueji_site.status.changes"
NAMES = {
    (_OLD + "resources", "Node"): ("xueji_site.kernel.nodes", "Node"),
    (_OLD + "resources", "Site"): ("xueji_site.kernel.nodes", "Site"),
    (_OLD + "resources", "Bureau"): ("xueji_site.tree.nodes", "Bureau"),
    (_OLD + "resources", "School"): ("xueji_site.tree.nodes", "School"),
    (_OLD + "resources", "SchoolClass"): ("xueji_site.tree.nodes", "SchoolClass"),
    (_OLD + "resources", "Student"): ("xueji_site.record.models", "Student"),
    (_OLD + "resources", "FamilyMember"): ("xueji_site.record.models", "FamilyMember"),
    # the catalog's discriminators now live beside the features that declare their indexes
    **{(_OLD + "catalog", name): (_SEARCH, name) for name in (
        "disc_stage", "disc_gender", "disc_ethnicity", "disc_status", "disc_enrolled", "disc_flags", "disc_text")},
    (_OLD + "catalog", "disc_code"): ("xueji_site.tree.indexes", "disc_code"),
    (_OLD + "catalog", "disc_hashes"): ("xueji_site.record.indexes", "disc_hashes"),
    (_OLD + "catalog", "_workflow_disc_changes"): (_STATUS, "disc_changes"),
    (_OLD + "catalog", "_workflow_disc_waiting_at"): (_STATUS, "disc_waiting_at"),
    (_OLD + "catalog", "_duplicates_disc_person"): ("xueji_site.record.duplicates", "disc_person"),
}
# Classes whose shape is gone (the approval chain replaced them): they load as
# broken objects, which keep their state for evolve steps 0007-0010 to read
# (kernel/legacy.py). A name that now means something else is sent nowhere.
GONE = {
    (_OLD + "approvals", "ExportApproval"): ("xueji_site.exports.approvals", "_ExportApprovalBeforeTheChain"),
}


def new_place(module, name):
    """(module, name) where an object pickled as ``module.name`` lives now."""
    found = NAMES.get((module, name)) or GONE.get((module, name))
    if found is not None:
        return found
    return MODULES.get(module, module), name


def class_factory(connection, module, name):
    """ZODB's ``DB.classFactory``, reading old names at their new places."""
    return find_global(*new_place(module, name))


def install(db):
    """Make ``db`` read moved names. A connection keeps the factory it was made
    with, and a new DB has already made one (to create the root), so the
    connections in its pools get the factory too."""
    db.classFactory = class_factory

    def update(conn):
        conn._reader._factory = class_factory

    db._connectionMap(update)
    return db
