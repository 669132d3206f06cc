"""The README's generated tables, from the registrations themselves.

    python -m xueji_site.scripts.docs            # print the tables
    python -m xueji_site.scripts.docs --write    # rewrite them in README.md between their markers

``tests/test_docs.py`` fails when README.md's tables differ from what the
registrations say: who may do what (roles × types × permissions), the approval
processes and their steps, and the settings with their defaults.
"""
import argparse
import pathlib
import sys

from xueji_site import registrations
from xueji_site.kernel import chain, security, settings

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
MARKERS = {
    "permissions": ("<!-- generated: permissions -->", "<!-- end: permissions -->"),
    "processes": ("<!-- generated: processes -->", "<!-- end: processes -->"),
    "settings": ("<!-- generated: settings -->", "<!-- end: settings -->"),
}


def _text(value):
    return value.interpolate() if hasattr(value, "interpolate") else str(value)


def permissions_table(registry):
    """Roles down, types across: each cell the permissions the role holds on that type."""
    matrix = security.matrix(registry)
    types = sorted(matrix)
    lines = ["| role | " + " | ".join(types) + " |", "|---|" + "---|" * len(types)]
    for name, role in security.roles_of(registry).items():
        cells = [", ".join(sorted(matrix[t].get(name, ()))) or "—" for t in types]
        lines.append("| %s (%s) | %s |" % (name, _text(role.label), " | ".join(cells)))
    return "\n".join(lines)


def processes_table(registry):
    lines = ["| process | label | ids | steps (who decides: permission at which node) | days per step |",
             "|---|---|---|---|---|"]
    for name, process in sorted(chain.processes(registry).items()):
        steps = "; ".join("%s: %s" % (step.name, step.permission) for step in process.steps)
        lines.append("| %s | %s | %s… | %s | %d |" % (name, _text(process.label), process.prefix, steps,
                                                       process.working_days))
    return "\n".join(lines)


def settings_table(registry):
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for name, default, doc in settings.table(registry):
        shown = "" if default in ("", None, ()) else default
        lines.append("| `%s` | %s | %s |" % (name, ("`%s`" % (shown,)) if shown != "" else "—", doc))
    return "\n".join(lines)


def tables(registry=None):
    registry = registry or registrations()
    return {"permissions": permissions_table(registry), "processes": processes_table(registry),
            "settings": settings_table(registry)}


def rewrite(text, generated):
    """``text`` with each marked section replaced by its generated table."""
    for key, (start, end) in MARKERS.items():
        head, found, rest = text.partition(start)
        if not found:
            raise ValueError("README.md lacks the marker %s" % start)
        _old, found, tail = rest.partition(end)
        if not found:
            raise ValueError("README.md lacks the marker %s" % end)
        text = head + start + "\n" + generated[key] + "\n" + end + tail
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m xueji_site.scripts.docs", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the tables in README.md")
    args = parser.parse_args(argv)
    generated = tables()
    if args.write:
        README.write_text(rewrite(README.read_text(encoding="utf-8"), generated), encoding="utf-8")
    else:
        for key, table in generated.items():
            print("## %s\n\n%s\n" % (key, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
