"""README.md's tables of who may do what, the approval processes and the settings
are what the registrations say (scripts/docs.py writes them)."""
from xueji_site.scripts import docs


def test_readme_tables_are_generated_from_the_registrations(registrations):
    text = docs.README.read_text(encoding="utf-8")
    assert docs.rewrite(text, docs.tables(registrations)) == text, \
        "README.md's generated tables are stale: run python -m xueji_site.scripts.docs --write"


def test_the_permissions_table_names_every_role_and_type(registrations):
    table = docs.permissions_table(registrations)
    for role in ("sysadmin", "principal", "guardian", "head_teacher"):
        assert "| %s (" % role in table
    header = table.splitlines()[0]
    for type_name in ("Student", "FamilyMember", "School", "Archive"):
        assert type_name in header
    assert "break-glass" in table and "view-sensitive" in table
