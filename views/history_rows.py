"""A record's history (kernel/history.py) as a person reads it, in their language.

The history keeps what happened in stable internal words (kinds such as
``status-changed``, field names, codes, tree paths, the part's type and key),
so that it reads the same in every language and for years. Here each becomes
text: the kind its label (a process on the approval chain names its own steps),
a field its form title, a status its label, a code its table's label, a flag
是/否, a place in the tree the school and class it was, a part its type and
name. Values were masked when written where the field is sensitive.
"""
import datetime

from pyramid.i18n import TranslationString
from pyramid.traversal import find_resource, find_root

from xueji_site.kernel import chain, history
from xueji_site.kernel.registry import content_registry
from xueji_site.kernel.i18n import DOMAIN, _
from xueji_site.record.statuses import STATUS_LABELS
from . import record_sections

KINDS = {"photo-changed": _("更换照片"), "photo-removed": _("删除照片"), "create": _("建立学籍"),
         "modify": _("修改"), "move": _("移动"), "add-part": _("添加记录"), "modify-part": _("修改记录"),
         "remove-part": _("删除记录"), "merge": _("合并重复记录"), "merged": _("合并重复记录"),
         "change-requested": _("提交关键信息变更"), "change-approved-school": _("学校审核通过"),
         "change-approved-bureau": _("教育局审核通过"), "change-rejected": _("变更被驳回"),
         "change-withdrawn": _("变更已撤回"),
         "status-requested": _("申请学籍异动"), "status-step": _("异动审批通过一个环节"),
         "status-approved-school": _("学校审批通过"), "status-approved-county": _("县级教育局审批通过"),
         "status-approved-province": _("省级教育局审批通过"),
         "status-approved-to_school": _("转入学校审批通过"),
         "status-approved-to_county": _("转入地县级教育局审批通过"),
         "status-approved-to_province": _("转入地省级教育局审批通过"),
         "status-rejected": _("异动被驳回"), "status-withdrawn": _("异动已撤回"),
         "status-changed": _("学籍状态变更"),
         "grades": _("修改成绩"), "grades-correction": _("成绩更正生效")}  # issue 13
FIELD_TITLES = {"status": _("学籍状态"), "place": _("所在班级")}
NOTES = {"graduation": _("毕业")}
CONSENT_PREFIX = "guardian consent recorded by "  # what views/photos.py writes
PART_KINDS = ("add-part", "modify-part", "remove-part")


def kind_label(kind, registry=None):
    """A kind's label; a process's own kinds (``<history>-requested`` …) from its registration."""
    if kind in KINDS:
        return KINDS[kind]
    for process in chain.processes(registry).values():
        prefix = (process.history or "") + "-"
        if not process.history or not kind.startswith(prefix):
            continue
        rest = kind[len(prefix):]
        if rest.startswith("approved-"):
            try:
                step = process.step(rest[len("approved-"):])
            except KeyError:
                break
            return _("${step}审批通过", mapping={"step": step.label})
        found = {"requested": _("申请${process}", mapping={"process": process.label}),
                 "rejected": _("${process}被驳回", mapping={"process": process.label}),
                 "withdrawn": _("${process}已撤回", mapping={"process": process.label})}.get(rest)
        if found is not None:
            return found
    return kind


def place_text(site, path, translate):
    """A node's path as the school and class (or unit) it names; the path when it is gone."""
    try:
        node = find_resource(site, path)
    except KeyError:
        return path
    names = []
    while node is not None and node is not site and len(names) < 2:
        names.append(translate(node.title))
        node = node.__parent__
    return " ".join(reversed(names)) or path


class _Part:
    """The part an entry is about, from its note ("Type key rest")."""

    def __init__(self, holder, note, registry):
        type_name, _sep, rest = (note or "").partition(" ")
        key, _sep, self.rest = rest.partition(" ")
        self.ct = content_registry(registry).find(type_name)
        found = holder.get(key) if self.ct is not None and hasattr(holder, "get") else None
        self.obj = found if getattr(found, "content_type", None) == type_name else None

    def text(self, translate):
        if self.ct is None:
            return ""
        title = translate(self.ct.title)
        return "%s %s" % (title, translate(self.obj.title)) if self.obj is not None else title


def _value(request, ct, schema, obj, field, text):
    t = request.localizer.translate
    if field == "status":
        return t(STATUS_LABELS.get(text, text))
    if field == "place":
        return place_text(find_root(obj), text, t)
    if text in ("True", "False"):
        return t(_("是") if text == "True" else _("否"))
    if schema is None or field not in schema or field in ct.sensitive or not text:
        return text  # sensitive values were masked when written
    return record_sections.value_text(request, ct, schema, obj, field, text)


def _note(note, translate):
    """A request's entries begin with what was asked (a msgid), then the reason given."""
    if note in NOTES:
        return translate(NOTES[note])
    if note.startswith(CONSENT_PREFIX):
        return translate(_("已记录监护人同意（${login}）", mapping={"login": note[len(CONSENT_PREFIX):]}))
    asked, sep, rest = note.partition(history.HISTORY_SEPARATOR)
    if not sep:
        return note
    return translate(TranslationString(asked, domain=DOMAIN)) + sep + rest


def rows(context, request, bind):
    """(when, login, kind, [change lines], note) for the record page, newest first.
    ``bind(request, obj, ct)`` gives a type's bound schema (views/generic.py)."""
    t = request.localizer.translate
    ct = content_registry(request.registry).type_of(context)
    schemas = {ct.name: (ct, context, bind(request, context, ct))}
    found = []
    for when, _userid, login, kind, changes, note in history.entries(context):
        target_ct, target, schema = schemas[ct.name]
        note_text = _note(note or "", t)
        if kind in PART_KINDS:
            part = _Part(context, note, request.registry)
            note_text = part.text(t) + ((" " + _note(part.rest, t)) if part.rest else "")
            if part.ct is not None:
                if part.ct.name not in schemas:
                    schemas[part.ct.name] = (part.ct, part.obj or context, bind(request, part.obj or context, part.ct))
                target_ct, target, schema = schemas[part.ct.name]
        elif kind == "create" and note and note.startswith("/"):
            note_text = place_text(find_root(context), note, t)
        titles = {node.name: t(node.title) for node in schema.children}
        lines = ["%s: %s → %s" % (titles.get(f) or t(FIELD_TITLES.get(f, f)),
                                  _value(request, target_ct, schema, target, f, before),
                                  _value(request, target_ct, schema, target, f, after))
                 for f, before, after in changes]
        found.append((datetime.datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M"), login,
                      t(kind_label(kind, request.registry)), lines, note_text))
    return found
