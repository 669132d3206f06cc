"""Student search: keyword and conditions as catalog queries (no HTTP here).

A keyword is matched, in this order of precedence, as
* a resident ID number or a 学籍号, through its keyed hash (index ``hashes``);
* a name, through the ``text`` index, whose tokens are made by
  ``name_tokens``: every run of up to four characters of the name (partial
  names), and the pinyin of the name in full, as initials and mixed (full
  syllables then initials: ``zhangs`` finds 张三), also starting from the
  given name. Latin keywords match token *prefixes* (a key range scan of the
  index, not a walk of the documents).

Traditional characters are folded to simplified ones on both sides with
OpenCC's ``t2s`` table (package opencc-python-reimplemented) when it is
installed, else with the small table ``T2S_FALLBACK`` of common name
characters.

Conditions are index values combined with And; a grade becomes (school level,
cohort) pairs for today's school year. Every query goes through
``catalog.scoped``.
"""
import re

from hypatia.query import And, Any, Eq, NotAny

from xueji_site.kernel import catalog as cat
from xueji_site.search import indexes
from xueji_site.standards import codes
from xueji_site.tree.nodes import school_year

from xueji_site.search.tokens import MAX_PREFIX_TOKENS, MAX_RUN, MIN_LATIN, clean, name_tokens, simplified  # noqa: F401
from xueji_site.kernel.crypto import keyring

# -- keyword → query --------------------------------------------------------

ID_RE = re.compile(r"^(\d{17}[\dX]|\d{15})$")
REGISTRY_RE = re.compile(r"^[GJL]\d{17}[\dX]$|^L\d{18}$")


def is_number(word):
    """Whether a keyword is an ID number or 学籍号 (to be kept out of URLs and logs)."""
    word = (word or "").strip().upper()
    return bool(REGISTRY_RE.match(word) or ID_RE.match(word))


def _number_query(catalog, word):
    word = word.upper()
    if REGISTRY_RE.match(word):
        return Eq(catalog["hashes"], keyring().blind("registry", word))
    if ID_RE.match(word):
        return Eq(catalog["hashes"], keyring().blind("id", word))
    return None


def _prefix_tokens(index, prefix):
    """Tokens of a keyword index starting with ``prefix`` (a key range scan)."""
    tokens = []
    for token in index._fwd_index.keys(prefix, prefix + "\uffff"):
        tokens.append(token)
        if len(tokens) >= MAX_PREFIX_TOKENS:
            break
    return tokens


def _name_query(catalog, word):
    """Each piece of a long name must be a token (pieces of MAX_RUN chars)."""
    index = catalog["text"]
    word = clean(word)
    if word.isascii():
        if len(word) < MIN_LATIN:
            return None
        return Any(index, _prefix_tokens(index, word) or [word])
    pieces = [word[i:i + MAX_RUN] for i in range(0, len(word), MAX_RUN)]
    if len(pieces) > 1 and len(pieces[-1]) < MAX_RUN:
        pieces[-1] = word[-MAX_RUN:]
    queries = [Eq(index, piece) for piece in pieces]
    return queries[0] if len(queries) == 1 else And(*queries)


def keyword_query(catalog, keyword):
    """The query for a keyword: numbers by hash, anything else as a name (None: empty)."""
    keyword = (keyword or "").strip()
    if not keyword:
        return None
    return _number_query(catalog, keyword) or _name_query(catalog, keyword)


# -- conditions → query -----------------------------------------------------

def grade_stages(grade, today=None, levels=None):
    """Stage values (level, cohort) of pupils in national grade ``grade`` today."""
    year = school_year(today)
    found = []
    for level, (first, count) in codes.LEVEL_GRADES.items():
        if (levels is None or level in levels) and first <= grade < first + count:
            found.append(indexes.stage_key(level, year - (grade - first)))
    return found


def level_stages(catalog, level):
    return _prefix_tokens(catalog["stage"], level + ":")


def _stage_query(catalog, level, grade, today):
    if grade:
        stages = grade_stages(grade, today, [level] if level else None)
    else:
        stages = level_stages(catalog, level)
    return Any(catalog["stage"], stages or ["-"])


def condition_queries(catalog, conditions, today=None):
    """Queries for a dict of conditions (blank values are ignored).

    Keys: level, grade (int), klass (a class path), gender, ethnicity,
    status, enrolled (year), and each name in ``indexes.FLAGS`` with
    "1" (yes) or "0" (no).
    """
    c = {k: v for k, v in conditions.items() if v not in (None, "")}
    queries = []
    if c.get("level") or c.get("grade"):
        queries.append(_stage_query(catalog, c.get("level"), c.get("grade"), today))
    if c.get("klass"):
        queries.append(Eq(catalog["parent"], c["klass"]))
    for name in ("gender", "ethnicity", "status"):
        if name in c:
            queries.append(Eq(catalog[name], c[name]))
    if "enrolled" in c:
        queries.append(Eq(catalog["enrolled"], int(c["enrolled"])))
    for flag in indexes.FLAGS:
        if c.get(flag) == "1":
            queries.append(Eq(catalog["flags"], flag))
        elif c.get(flag) == "0":
            queries.append(NotAny(catalog["flags"], [flag]))
    return queries


# -- running a search -------------------------------------------------------

SORTS = ("title", "modified", "stage")


def build_query(site, node_path, keyword="", conditions=None, today=None):
    """The unscoped query, or None when the keyword can match nothing."""
    catalog = site.catalog
    parts = [Eq(catalog["content_type"], indexes.STUDENT)]
    if node_path not in ("", "/"):
        parts.append(Eq(catalog["ancestors"], node_path))
    if keyword and keyword.strip():
        word = keyword_query(catalog, keyword)
        if word is None:
            return None
        parts.append(word)
    parts += condition_queries(catalog, conditions or {}, today)
    return And(*parts) if len(parts) > 1 else parts[0]


def search(site, user, node_path, keyword="", conditions=None, sort="title", reverse=False,
           offset=0, limit=50, today=None):
    """One page of matching students the user may see: (total, students)."""
    query = build_query(site, node_path, keyword, conditions, today)
    query = cat.scoped(site, user, query) if query is not None else None
    if query is None:
        return 0, []
    result = query.execute(resolver=site.docmap.get)
    total = len(result)
    if not total:
        return 0, []
    index = site.catalog[sort if sort in SORTS else "title"]
    ordered = result.sort(index, reverse=reverse, limit=offset + limit, raise_unsortable=False)
    page = [obj for position, obj in enumerate(ordered) if position >= offset]
    return total, [obj for obj in page if obj is not None]


def grade_of(student, today=None):
    klass = getattr(student, "__parent__", None)
    return klass.grade(today) if hasattr(klass, "grade") else None

