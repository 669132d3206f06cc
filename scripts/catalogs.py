"""Maintain the translation catalogues in ``xueji_site/locale``.

Msgids are the Simplified Chinese source strings.  Run from a checkout::

    python -m xueji_site.scripts.catalogs update    # extract, write xueji.pot, merge every .po, compile .mo
    python -m xueji_site.scripts.catalogs check     # exit 1 and list problems (what CI runs, see tests/test_i18n.py)
    python -m xueji_site.scripts.catalogs todo [LOCALE ...]         # TSV "locale<TAB>msgid" of what needs translating
    python -m xueji_site.scripts.catalogs import LOCALE FILE.tsv    # set translations ("msgid<TAB>msgstr" lines), compile
    python -m xueji_site.scripts.catalogs draft-hant                # fill empty zh_Hant entries with OpenCC output, as fuzzy

Sources: every ``_("...")`` call with a literal first argument in the package's
Python files (``xueji_site/``, ``schemas/``, ``views/``, ``scripts/``; a ``_(n)``
inside a comprehension over a literal table is followed into that table), and
every ``i18n:translate`` / ``i18n:attributes`` of domain ``xueji`` in
``views/templates/*.pt``.

Template msgids are formed the way Chameleon forms them at render time: the
element's text with runs of whitespace collapsed to one space and stripped, a
child element carrying ``i18n:name="x"`` replaced by ``${x}``, any other child
element kept as markup (``tal:``/``metal:`` tags dropped, their text kept).  A
``${expression}`` written directly inside an ``i18n:translate`` element is
evaluated *before* translation, so the msgid would be the rendered text and can
never match a catalogue entry: ``check`` reports it (wrap it in an element with
``i18n:name`` instead).  An element whose whole content is one ``${value}`` is
the deliberate "translate this runtime value" idiom and is only listed as a note.

Draft entries (``fuzzy``) are not compiled and count as untranslated.  The
``zh_Hans`` catalogue carries no translations: the msgid is already the text.
"""
import argparse
import ast
import datetime
import io
import os
import re
import sys
from dataclasses import dataclass, field

from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

DOMAIN = "xueji"
LOCALES = ("zh_Hans", "zh_Hant", "en")
SOURCE_LOCALE = "zh_Hans"          # msgid == text; its msgstrs stay empty
MUST_TRANSLATE = ("zh_Hant", "en")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # scripts/ → the checkout
PACKAGE_DIR = os.path.join(ROOT, "xueji_site")
LOCALE_DIR = os.path.join(PACKAGE_DIR, "locale")
POT_PATH = os.path.join(LOCALE_DIR, DOMAIN + ".pot")
PYTHON_DIRS = ("xueji_site", "schemas", "views", "scripts")
TEMPLATE_DIRS = ("views/templates",)

# Msgids that reach the translator only at run time, so no extractor can see
# them: {msgid: "where it comes from"}.  Prefer marking the source with _();
# an entry here is dropped once that is done.
EXTRA_MSGIDS = {}

I18N_NS = "http://xml.zope.org/namespaces/i18n"
TAL_NS = "http://xml.zope.org/namespaces/tal"
METAL_NS = "http://xml.zope.org/namespaces/metal"
XMLNS_NS = "http://www.w3.org/2000/xmlns/"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_TEMPLATE_NAMESPACES = {"xmlns": XMLNS_NS, "xml": XML_NS, "i18n": I18N_NS, "tal": TAL_NS, "metal": METAL_NS}

# translationstring interpolates both ${name} and $name (not $$name).
_PLACEHOLDER = re.compile(r"(?<!\$)\$(?:\{([A-Za-z][-A-Za-z0-9_]*)\}|([A-Za-z][-A-Za-z0-9_]*))")
_INTERPOLATION = re.compile(r"\$\{")
_WHITESPACE = re.compile(r"\s+")


def placeholders(text):
    return {a or b for a, b in _PLACEHOLDER.findall(text or "")}


@dataclass
class Extraction:
    messages: dict = field(default_factory=dict)   # msgid -> [(relpath, lineno)]
    comments: dict = field(default_factory=dict)   # msgid -> [note]
    problems: list = field(default_factory=list)   # strings that can never be translated
    notes: list = field(default_factory=list)      # runtime msgids, for information

    def add(self, msgid, path, lineno, comment=None):
        self.messages.setdefault(msgid, []).append((path, lineno))
        if comment and comment not in self.comments.get(msgid, []):
            self.comments.setdefault(msgid, []).append(comment)


# --------------------------------------------------------------------------
# Python sources

def _is_underscore_call(node):
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"


def _table_values(name, call, parents):
    """For ``_(n)`` inside ``... for c, n in (literal table)``: [(value, lineno)] or None."""
    node = call
    while node in parents:
        node = parents[node]
        if not isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)):
            continue
        for gen in node.generators:
            target = gen.target
            if isinstance(target, ast.Name) and target.id == name:
                index = None
            elif isinstance(target, (ast.Tuple, ast.List)) and any(
                    isinstance(e, ast.Name) and e.id == name for e in target.elts):
                index = [getattr(e, "id", None) for e in target.elts].index(name)
            else:
                continue
            if not isinstance(gen.iter, (ast.Tuple, ast.List)):
                return None
            values = []
            for item in gen.iter.elts:
                if index is not None:
                    if not isinstance(item, (ast.Tuple, ast.List)) or len(item.elts) <= index:
                        return None
                    item = item.elts[index]
                if not (isinstance(item, ast.Constant) and isinstance(item.value, str)):
                    return None
                values.append((item.value, item.lineno))
            return values
    return None


def extract_python(source, relpath, out):
    tree = ast.parse(source, relpath)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if not _is_underscore_call(node):
            continue
        where = "%s:%d" % (relpath, node.lineno)
        if not node.args:
            out.problems.append("%s: _() without a msgid" % where)
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            if any(k.arg == "default" for k in node.keywords):
                out.problems.append("%s: _() with default=: msgids must be the Simplified Chinese text" % where)
            out.add(arg.value, relpath, node.lineno)
            continue
        if isinstance(arg, ast.Name):
            values = _table_values(arg.id, node, parents)
            if values:
                for value, lineno in values:
                    out.add(value, relpath, lineno)
                continue
        out.problems.append("%s: _() of a non-literal (%s) cannot be extracted"
                            % (where, ast.unparse(arg)[:60]))


# --------------------------------------------------------------------------
# Chameleon templates

def _parse_template(source, relpath):
    from chameleon.parser import ElementParser
    from chameleon.tokenize import iter_xml
    return list(ElementParser(iter_xml(source, relpath), _TEMPLATE_NAMESPACES))


def _ns(start, namespace, name):
    return start["ns_attrs"].get((namespace, name))


def _tag_text(start, end):
    """The start and end tag as Chameleon writes them (template attributes dropped)."""
    attrs = "".join(
        "%s%s%s%s%s%s" % (a["space"], a["name"], a["eq"], a["quote"], a["value"], a["quote"])
        for a in start["attrs"]
        if a["name"].split(":")[0] not in ("tal", "metal", "i18n", "xmlns")
    )
    if end is None:
        return start["prefix"] + start["name"] + attrs + (start["space"] or "") + start["suffix"], ""
    return (start["prefix"] + start["name"] + attrs + (start["space"] or "") + start["suffix"],
            end["prefix"] + end["name"] + (end["space"] or "") + end["suffix"])


def _lineno(source, token):
    pos = getattr(token, "pos", None)
    return source.count("\n", 0, pos) + 1 if pos is not None else 0


class _MsgidBuilder:
    """Rebuild the msgid Chameleon will pass to translate() for one element."""

    def __init__(self):
        self.parts = []
        self.interpolated = False
        self.dynamic = []

    def content(self, children):
        for kind, args in children:
            if kind == "text":
                text = str(args[0])
                if _INTERPOLATION.search(text):
                    self.interpolated = True
                self.parts.append(text)
            elif kind == "element":
                start, end, inner = args
                name = _ns(start, I18N_NS, "name")
                if name:
                    self.parts.append("${%s}" % name.strip())
                    continue
                if _ns(start, TAL_NS, "replace") is not None or _ns(start, TAL_NS, "content") is not None \
                        or _ns(start, TAL_NS, "condition") is not None or _ns(start, TAL_NS, "repeat") is not None:
                    self.dynamic.append(start["name"])
                if start["namespace"] in (TAL_NS, METAL_NS):
                    self.content(inner)
                else:
                    opening, closing = _tag_text(start, end)
                    self.parts.append(opening)
                    self.content(inner)
                    self.parts.append(closing)
            elif kind in ("start_tag", "empty_tag"):
                self.parts.append(_tag_text(args[0], None)[0])
            # comments are not part of the msgid

    def msgid(self):
        return _WHITESPACE.sub(" ", "".join(self.parts)).strip()


def extract_template(source, relpath, out):
    def attributes_of(start):
        return {a["name"]: a["value"] for a in start["attrs"]}

    def walk(children, domain):
        for kind, args in children:
            if kind == "element":
                start, _end, inner = args
            elif kind == "start_tag":          # an unclosed HTML void element such as <input ...>
                start, _end, inner = args[0], None, []
            else:
                continue
            domain_here = (_ns(start, I18N_NS, "domain") or domain or "").strip() or None
            lineno = _lineno(source, start["name"])
            where = "%s:%d" % (relpath, lineno)
            mine = domain_here == DOMAIN
            spec = _ns(start, I18N_NS, "attributes")
            if spec and mine:
                values = attributes_of(start)
                for entry in filter(None, (e.strip() for e in spec.split(";"))):
                    bits = entry.split(None, 1)
                    attr, explicit = bits[0], (bits[1].strip() if len(bits) > 1 else "")
                    value = values.get(attr, "")
                    if explicit:
                        out.add(explicit, relpath, lineno)
                    elif _INTERPOLATION.search(value):
                        out.problems.append("%s: i18n:attributes %r holds ${...}: its msgid is only known at run time"
                                            % (where, attr))
                    elif value.strip():
                        out.add(value, relpath, lineno)
            translate = _ns(start, I18N_NS, "translate")
            if translate is not None and mine:
                if translate.strip():
                    out.add(translate.strip(), relpath, lineno)
                else:
                    builder = _MsgidBuilder()
                    builder.content(inner)
                    msgid = builder.msgid()
                    if re.fullmatch(r"\$\{[^{}]*\}", msgid):
                        out.notes.append("%s: translates the run-time value %s" % (where, msgid))
                    elif builder.interpolated:
                        out.problems.append(
                            "%s: ${...} inside i18n:translate is rendered into the msgid (%r); "
                            "put it in an element with i18n:name" % (where, msgid))
                    elif builder.dynamic:
                        out.problems.append("%s: tal:%s inside i18n:translate makes the msgid vary; "
                                            "give that element an i18n:name" % (where, builder.dynamic[0]))
                    elif msgid:
                        out.add(msgid, relpath, lineno)
            walk(inner, domain_here)

    walk(_parse_template(source, relpath), None)


# --------------------------------------------------------------------------
# The whole package

def _source_files():
    for top in PYTHON_DIRS:
        base = os.path.join(ROOT, top)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", "locale", "static", "data"))
            for name in sorted(filenames):
                if name.endswith(".py"):
                    yield "py", os.path.join(dirpath, name)
    for top in TEMPLATE_DIRS:
        base = os.path.join(ROOT, top)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(".pt"):
                    yield "pt", os.path.join(dirpath, name)


def extract():
    out = Extraction()
    for kind, path in _source_files():
        relpath = os.path.relpath(path, ROOT).replace(os.sep, "/")
        with open(path, encoding="utf-8") as f:
            source = f.read()
        (extract_python if kind == "py" else extract_template)(source, relpath, out)
    for msgid, comment in EXTRA_MSGIDS.items():
        out.add(msgid, None, None, comment)
    return out


HEADER = """\
# %s messages of xueji, the national student registry.
# Generated and merged by `python -m xueji_site.scripts.catalogs update`; edit msgstrs only.
# Msgids are the Simplified Chinese source text."""


def _new_catalog(locale=None):
    catalog = Catalog(locale=locale, domain=DOMAIN, project="xueji", version="0.1",
                      header_comment=HEADER % (locale or "Template of the"),
                      msgid_bugs_address="", charset="utf-8", fuzzy=False)
    catalog.last_translator = "xueji"
    catalog.language_team = locale or ""
    return catalog


def _add(catalog, msgid, string="", **kw):
    catalog.add(msgid, string, **kw)
    # ${name} is translationstring's interpolation, not Python's str.format.
    catalog[msgid].flags.discard("python-brace-format")


def build_template(extraction):
    pot = _new_catalog()
    for msgid in sorted(extraction.messages, key=lambda m: (_first_location(extraction.messages[m]), m)):
        locations = [(p, n) for p, n in extraction.messages[msgid] if p]
        _add(pot, msgid, locations=sorted(set(locations)), auto_comments=extraction.comments.get(msgid, ()))
    return pot


def _first_location(locations):
    real = [(p, n) for p, n in locations if p]
    return min(real) if real else ("~", 0)


def po_path(locale):
    return os.path.join(LOCALE_DIR, locale, "LC_MESSAGES", DOMAIN + ".po")


def mo_path(locale):
    return os.path.join(LOCALE_DIR, locale, "LC_MESSAGES", DOMAIN + ".mo")


def load_po(locale):
    path = po_path(locale)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return read_po(f, locale=locale, domain=DOMAIN)


def merge(template, old, locale):
    """A catalogue with the template's msgids, keeping old translations (also from obsolete ones)."""
    new = _new_catalog(locale)
    if old is not None:
        new.creation_date = old.creation_date
        new.revision_date = old.revision_date
    previous = {}
    if old is not None:
        previous.update({m.id: m for m in old.obsolete.values()})
        previous.update({m.id: m for m in old if m.id})
    for message in template:
        if not message.id:
            continue
        before = previous.pop(message.id, None)
        string = before.string if before is not None else ""
        flags = set(before.flags) & {"fuzzy"} if before is not None else set()
        user_comments = before.user_comments if before is not None else []
        _add(new, message.id, string, locations=message.locations, flags=flags,
                auto_comments=message.auto_comments, user_comments=user_comments)
    for msgid, message in previous.items():
        if message.string:       # untranslated leftovers are simply dropped
            new.obsolete[msgid] = message
    return new


def _render_po(catalog, template=False):
    buf = io.BytesIO()
    write_po(buf, catalog, width=0, sort_output=False, ignore_obsolete=False, include_lineno=False)
    return buf.getvalue()


def _render_mo(catalog):
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def _write_if_changed(path, render, catalog, date_attr):
    """Write unless only the header date would change (keeps diffs quiet)."""
    data = render(catalog)
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    setattr(catalog, date_attr, datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(render(catalog))
    return True


def untranslated(catalog):
    return [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]


def compile_mo(locale, catalog):
    data = _render_mo(catalog)
    path = mo_path(locale)
    if os.path.exists(path):
        with open(path, "rb") as f:
            if _mo_messages(f.read()) == _po_messages(catalog):
                return False
    with open(path, "wb") as f:
        f.write(data)
    return True


def save(locale, catalog):
    _write_if_changed(po_path(locale), _render_po, catalog, "revision_date")
    compile_mo(locale, catalog)


def supplements():
    """Other domains' .po files kept here (e.g. colander gaps): [(locale, domain, po path)]."""
    found = []
    for locale in sorted(os.listdir(LOCALE_DIR)) if os.path.isdir(LOCALE_DIR) else ():
        folder = os.path.join(LOCALE_DIR, locale, "LC_MESSAGES")
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                if name.endswith(".po") and name != DOMAIN + ".po":
                    found.append((locale, name[:-3], os.path.join(folder, name)))
    return found


def _read_supplement(locale, domain, path):
    with open(path, "rb") as f:
        return read_po(f, locale=locale, domain=domain)


def update(stream=sys.stdout):
    extraction = extract()
    template = build_template(extraction)
    old_pot = None
    if os.path.exists(POT_PATH):
        with open(POT_PATH, "rb") as f:
            old_pot = read_po(f)
        template.creation_date = old_pot.creation_date
    _write_if_changed(POT_PATH, _render_po, template, "creation_date")
    print("%s: %d msgids" % (os.path.relpath(POT_PATH, ROOT), len([m for m in template if m.id])), file=stream)
    for locale in LOCALES:
        catalog = merge(template, load_po(locale), locale)
        save(locale, catalog)
        if locale == SOURCE_LOCALE:
            print("%s: source locale, no translations needed" % locale, file=stream)
            continue
        todo = untranslated(catalog)
        print("%s: %d translated, %d to do" % (locale, len(catalog) - len(todo), len(todo)), file=stream)
        for msgid in todo:
            print("    %s" % msgid, file=stream)
    for locale, domain, path in supplements():
        catalog = _read_supplement(locale, domain, path)
        mo = path[:-3] + ".mo"
        stale = True
        if os.path.exists(mo):
            with open(mo, "rb") as f:
                stale = _mo_messages(f.read()) != _po_messages(catalog)
        if stale:
            with open(mo, "wb") as f:
                f.write(_render_mo(catalog))
        print("%s: %s supplement, %d messages" % (locale, domain, len(_po_messages(catalog))), file=stream)
    for problem in extraction.problems:
        print("problem: %s" % problem, file=stream)
    return extraction


# --------------------------------------------------------------------------
# Checking

def _po_messages(catalog):
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


def _mo_messages(data):
    catalog = read_mo(io.BytesIO(data))
    return {m.id: m.string for m in catalog if m.id}


def check():
    """Every problem as a line of text; an empty list means all is well."""
    extraction = extract()
    problems = list(extraction.problems)
    wanted = set(extraction.messages)
    if not os.path.exists(POT_PATH):
        problems.append("%s is missing: run update" % POT_PATH)
    else:
        with open(POT_PATH, "rb") as f:
            pot_ids = {m.id for m in read_po(f) if m.id}
        for msgid in sorted(wanted - pot_ids):
            problems.append("xueji.pot: lacks %r (%s): run update" % (msgid, _where(extraction, msgid)))
    for locale in LOCALES:
        catalog = load_po(locale)
        if catalog is None:
            problems.append("%s: %s is missing: run update" % (locale, po_path(locale)))
            continue
        present = {m.id: m for m in catalog if m.id}
        for msgid in sorted(wanted - set(present), key=lambda m: _where(extraction, m)):
            problems.append("%s: lacks %r (%s): run update" % (locale, msgid, _where(extraction, msgid)))
        for msgid, message in present.items():
            if locale in MUST_TRANSLATE and msgid in wanted:
                if not message.string:
                    problems.append("%s: %r is not translated" % (locale, msgid))
                    continue
                if message.fuzzy:
                    problems.append("%s: %r is a draft (fuzzy): review it" % (locale, msgid))
                    continue
            if message.string and placeholders(message.string) != placeholders(msgid):
                problems.append("%s: %r -> %r: placeholders %s differ from %s" % (
                    locale, msgid, message.string, sorted(placeholders(message.string)),
                    sorted(placeholders(msgid))))
        if not os.path.exists(mo_path(locale)):
            problems.append("%s: %s is missing: run update" % (locale, mo_path(locale)))
        else:
            with open(mo_path(locale), "rb") as f:
                if _mo_messages(f.read()) != _po_messages(catalog):
                    problems.append("%s: %s is out of date with its .po: run update" % (locale, mo_path(locale)))
    for locale, domain, path in supplements():
        catalog = _read_supplement(locale, domain, path)
        for message in catalog:
            if message.id and message.string and placeholders(message.string) != placeholders(message.id):
                problems.append("%s/%s: %r -> %r: placeholders differ" % (locale, domain, message.id, message.string))
        mo = path[:-3] + ".mo"
        if not os.path.exists(mo):
            problems.append("%s: %s is missing: run update" % (locale, mo))
        else:
            with open(mo, "rb") as f:
                if _mo_messages(f.read()) != _po_messages(catalog):
                    problems.append("%s: %s is out of date with its .po: run update" % (locale, mo))
    return problems


def _where(extraction, msgid):
    locations = extraction.messages.get(msgid) or []
    real = ["%s:%d" % loc for loc in locations if loc[0]]
    return real[0] if real else (extraction.comments.get(msgid) or ["?"])[0]


# --------------------------------------------------------------------------
# Helpers for translators

def import_tsv(locale, path, stream=sys.stdout):
    catalog = load_po(locale)
    if catalog is None:
        raise SystemExit("%s has no catalogue: run update first" % locale)
    changed = unknown = 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            if "\t" not in line:
                print("%s:%d: no tab, skipped" % (path, n), file=stream)
                continue
            msgid, msgstr = line.split("\t", 1)
            message = catalog.get(msgid)
            if message is None:
                unknown += 1
                print("%s:%d: %r is not in the catalogue, skipped" % (path, n, msgid), file=stream)
                continue
            if message.string != msgstr or message.fuzzy:
                message.string = msgstr
                message.flags.discard("fuzzy")
                changed += 1
    save(locale, catalog)
    print("%s: %d translations set, %d unknown, %d still to do"
          % (locale, changed, unknown, len(untranslated(catalog))), file=stream)


def draft_hant(stream=sys.stdout):
    try:
        import opencc
    except ImportError:
        raise SystemExit("pip install opencc-python-reimplemented (a development helper only)")
    converter = opencc.OpenCC("s2twp")
    catalog = load_po("zh_Hant")
    if catalog is None:
        raise SystemExit("run update first")
    drafted = 0
    for message in catalog:
        if message.id and not message.string:
            message.string = converter.convert(message.id)
            message.flags.add("fuzzy")
            drafted += 1
    save("zh_Hant", catalog)
    print("zh_Hant: %d drafts marked fuzzy; review them, then clear the flag (or use import)" % drafted,
          file=stream)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m xueji_site.scripts.catalogs", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("update", help="extract, merge and compile")
    sub.add_parser("check", help="list problems; exit 1 if any")
    todo = sub.add_parser("todo", help="TSV of msgids lacking a translation")
    todo.add_argument("locales", nargs="*", default=list(MUST_TRANSLATE))
    imp = sub.add_parser("import", help="set translations from a msgid<TAB>msgstr file")
    imp.add_argument("locale", choices=LOCALES)
    imp.add_argument("file")
    sub.add_parser("draft-hant", help="OpenCC drafts for empty zh_Hant entries (fuzzy)")
    args = parser.parse_args(argv)
    if args.command == "update":
        update()
    elif args.command == "check":
        problems = check()
        for problem in problems:
            print(problem)
        print("%d problem(s)" % len(problems) if problems else "catalogues OK")
        return 1 if problems else 0
    elif args.command == "todo":
        for locale in args.locales:
            catalog = load_po(locale)
            for msgid in untranslated(catalog) if catalog is not None else ():
                print("%s\t%s" % (locale, msgid))
    elif args.command == "import":
        import_tsv(args.locale, args.file)
    elif args.command == "draft-hant":
        draft_hant()
    return 0


if __name__ == "__main__":
    sys.exit(main())
