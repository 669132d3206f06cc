"""The ``code`` index: bureaus by GB/T 2260 code, schools by 学校标识码."""
from hypatia.field import FieldIndex


def disc_code(obj, default):
    code = getattr(obj, "code", None)
    return default if code is None else code


def find_by_code(request, code):
    """The bureau or school with ``code``, or None."""
    site = request.root
    for docid in site.catalog["code"].applyEq(code):
        return site.docmap.get(docid)
    return None


def includeme(config):
    config.add_index("code", lambda: FieldIndex(disc_code))
