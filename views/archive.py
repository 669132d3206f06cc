"""The archive of graduates and a graduate's own page (certificate,
destination, contacts, verification codes with QR and a printable report).

``ArchiveTraverser`` wraps Pyramid's traversal: when it stops at a school
with the view name ``archive``, it carries on into the school's archive
(which is not among the school's children), so the archive, its years and
its records are ordinary contexts with their own ACL.
"""
import datetime

import segno
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.traversal import ResourceTreeTraverser, find_root
from pyramid.view import view_config

from xueji_site.graduates import archive, certificates, destinations, graduation, verification
from xueji_site.kernel import audit, integrity, permissions as P
from xueji_site.status import changes as workflow
from xueji_site.graduates.archive import Archive, ArchivedGraduate, ArchiveYear
from xueji_site.grades import codes as grade_codes
from xueji_site.grades.transcript import transcript
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Site
from xueji_site.record.models import Student

from .errors import refused_page
from .verify import transcript_shown

PAGE = 100


class ArchiveTraverser:
    def __init__(self, root):
        self.inner = ResourceTreeTraverser(root)

    def __call__(self, request):
        info = self.inner(request)
        context = info["context"]
        if info["view_name"] == "archive" and getattr(context, "content_type", None) == "School":
            found = archive.archive_of(context)
            if found is not None:
                info = dict(info, **_descend(found, info["traversed"] + ("archive",), info["subpath"]))
        return info


def _descend(node, traversed, rest):
    rest = list(rest)
    while rest and hasattr(node, "get") and node.get(rest[0]) is not None:
        node = node.get(rest[0])
        traversed += (rest.pop(0),)
    view_name = rest.pop(0) if rest else ""
    return {"context": node, "view_name": view_name, "subpath": tuple(rest), "traversed": traversed}


TAMPERED = _("此记录未通过完整性校验（存储的数据与校验码不符），可能被改动过。请联系系统管理员核查；核查前不能签发查验码。")


def _when(stamp):
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else ""


@view_config(context=Archive, permission=P.VIEW, renderer="templates/archive.pt")
def archive_page(context, request):
    years = [(key, len(context[key]), request.resource_url(context[key])) for key in reversed(list(context.keys()))]
    return {"years": years, "records": None}


@view_config(context=ArchiveYear, permission=P.VIEW, renderer="templates/archive.pt")
def year_page(context, request):
    after = request.params.get("after") or None
    records = []
    for key in context.data.keys(min=after, excludemin=after is not None):
        records.append(context[key])
        if len(records) >= PAGE:
            break
    more = records[-1].__name__ if len(records) >= PAGE else None
    t = request.localizer.translate
    labels = {status: t(label) for status, label in workflow.STATUS_LABELS.items()}
    return {"years": None, "records": records, "more": more, "labels": labels}


def _is_graduate(context):
    return isinstance(context, ArchivedGraduate) or context.status in graduation.OUTCOMES


def _school_of(context):
    return context.__parent__.__parent__.__parent__ if isinstance(context, ArchivedGraduate) else \
        workflow.school_of(context)


def _year_of(context):
    return context.year if isinstance(context, ArchivedGraduate) else context.graduation_year


def _page_url(request, context):
    return request.resource_url(context) if isinstance(context, ArchivedGraduate) else \
        request.resource_url(context, "graduate")


@view_config(context=ArchivedGraduate, permission=P.VIEW_RECORD, renderer="templates/graduate.pt")
@view_config(context=Student, name="graduate", permission=P.VIEW_RECORD, renderer="templates/graduate.pt")
def graduate_page(context, request):
    if not _is_graduate(context):
        raise HTTPNotFound()
    t = request.localizer.translate
    audit.log(request, "view-record", context, kind="graduate")
    tampered = _tampered(request, context)
    follow = destinations.followup_of(context)
    outcome = context.outcome if isinstance(context, ArchivedGraduate) else context.status
    number = graduation.certificate_of(context)
    return {"number": certificates.shown(number) if number else "", "year": _year_of(context),
            "outcome": t(workflow.STATUS_LABELS[outcome]), "school": _school_of(context).title,
            "archived": isinstance(context, ArchivedGraduate),
            "history": [(_when(e[0]), e[2], e[3], e[5]) for e in getattr(context, "status_history", ())],
            "follow": follow, "dest_label": t(destinations.DESTINATIONS.get(getattr(follow, "destination", ""), "")),
            "contacts": [(_when(c[0]), c[1], t(destinations.CHANNELS[c[2]]), c[3]) for c in destinations.contacts(context)],
            "destinations": [(k, t(v)) for k, v in destinations.DESTINATIONS.items()],
            "channels": [(k, t(v)) for k, v in destinations.CHANNELS.items()],
            "page_url": _page_url(request, context), "new_code": None, "retained": getattr(context, "retained_until", None),
            "tampered": tampered, "revoked": _revoked(context), "may_revoke": may_revoke(request, context),
            "transcript": _transcript_rows(request, context)}


def _transcript_levels(context):
    """(term, subject, level) of the graduate's transcript: what a holder's code may show."""
    rows = context.grades if isinstance(context, ArchivedGraduate) else transcript(find_root(context), context)
    return tuple((term, subject, level) for term, subject, level, _p in rows) if isinstance(rows, tuple) else ()


def _transcript_rows(request, context):
    """The graduate's transcript as levels (term, subject, level): kept with the archived
    record, read from the marks while the graduate is not archived yet (issue 13)."""
    t = request.localizer.translate
    rows = context.grades if isinstance(context, ArchivedGraduate) else transcript(request.site, context)
    if not isinstance(rows, tuple):
        return []
    return [(t(grade_codes.term_label(term)), t(grade_codes.SUBJECT_LABELS.get(subject, subject)),
             t(grade_codes.LEVEL_LABELS[level]) if level else "") for term, subject, level, _percent in rows]


def _revoked(context):
    """(date, login, reason) of a revoked certificate, or None."""
    found = getattr(context, "certificate_revoked", None)
    return (_when(found[0]), found[2], found[3]) if found else None


def _tampered(request, context):
    """True (and audited) when the record departs from its MAC (integrity.py, security.md D3):
    the page says so, and no verification code is issued for it."""
    if integrity.check(context) == integrity.OK:
        return False
    audit.log(request, "integrity-failed", context, result=audit.FAILED)
    return True


@view_config(context=ArchivedGraduate, name="destination", request_method="POST", permission=P.TRACK_GRADUATES)
@view_config(context=Student, name="destination", request_method="POST", permission=P.TRACK_GRADUATES)
def set_destination(context, request):
    if not _is_graduate(context):
        raise HTTPNotFound()
    try:
        destinations.set_destination(context, _school_of(context), _year_of(context), request.POST.get("destination", ""),
                                     request.POST.get("further_school", ""), request.POST.get("detail", ""))
    except ValueError:
        raise HTTPNotFound()
    audit.log(request, "destination", context, destination=request.POST.get("destination"))
    return HTTPSeeOther(_page_url(request, context))


@view_config(context=ArchivedGraduate, name="contact", request_method="POST", permission=P.TRACK_GRADUATES)
@view_config(context=Student, name="contact", request_method="POST", permission=P.TRACK_GRADUATES)
def add_contact(context, request):
    if not _is_graduate(context):
        raise HTTPNotFound()
    try:
        destinations.add_contact(context, request.user.login, request.POST.get("channel", ""), request.POST.get("note", ""))
    except ValueError:
        raise HTTPNotFound()
    audit.log(request, "contact", context)
    return HTTPSeeOther(_page_url(request, context))


REASON_MAX = 200


def may_revoke(request, context):
    """The principal (who signs the certificates) or the county bureau above the school."""
    school = _school_of(context)
    return request.has_permission(P.APPROVE_SCHOOL, school) or \
        request.has_permission(P.APPROVE_BUREAU, school.__parent__)


@view_config(context=ArchivedGraduate, name="revoke", request_method="POST", permission=P.VIEW_RECORD)
@view_config(context=Student, name="revoke", request_method="POST", permission=P.VIEW_RECORD)
def revoke_certificate(context, request):
    """Withdraw a certificate issued in error, with a reason; audited."""
    number = graduation.certificate_of(context) if _is_graduate(context) else ""
    if not number:
        raise HTTPNotFound()
    if not may_revoke(request, context):
        audit.log(request, "certificate-revoke", context, result=audit.DENIED)
        return refused_page(request)
    t = request.localizer.translate
    reason = " ".join(request.POST.get("reason", "").split())[:REASON_MAX]
    if not reason:
        request.session.flash(t(_("注销证书须填写原因。")))
        return HTTPSeeOther(_page_url(request, context))
    user = request.user
    if verification.revoke(request.site, context, number, reason, user.userid, user.login):
        audit.log(request, "certificate-revoke", context, certificate=number[:14] + "*" * 7, reason=reason)
        request.session.flash(t(_("证书已注销：公开查验将不再确认此证书。")))
    return HTTPSeeOther(_page_url(request, context))


def verify_url(request, number, code):
    return request.resource_url(request.root, "verify", query={"number": number, "code": code})


@view_config(context=ArchivedGraduate, name="codes", request_method="POST", permission=P.ISSUE_CODE,
             renderer="templates/verification_report.pt")
@view_config(context=Student, name="codes", request_method="POST", permission=P.ISSUE_CODE,
             renderer="templates/verification_report.pt")
def issue_code(context, request):
    """A new code for 30–180 days: shown once, with its QR code, as a printable report."""
    number = graduation.certificate_of(context) if _is_graduate(context) else ""
    if not number:
        raise HTTPNotFound()
    if _tampered(request, context):
        request.session.flash(request.localizer.translate(TAMPERED))
        return HTTPSeeOther(_page_url(request, context))
    if getattr(context, "certificate_revoked", None):
        raise HTTPNotFound()  # a revoked certificate has nothing left to verify
    try:
        days = int(request.POST.get("days", "0"))
        shared = _transcript_levels(context) if request.POST.get("transcript") == "1" else ()
        code, expires = verification.issue_code(request.site, number, days, request.user.userid,
                                                transcript=shared)
    except ValueError:
        raise HTTPNotFound()
    audit.log(request, "verification-code", context, days=days, transcript=bool(shared))
    url = verify_url(request, number, code)
    answer = verification.look_up(request.site, number, code=code)
    t = request.localizer.translate
    return {"answer": answer, "outcome": t(workflow.STATUS_LABELS[answer["outcome"]]) if answer["valid"] else "",
            "transcript": transcript_shown(request, answer),
            "number": certificates.shown(number), "code": "-".join(code[i:i + 4] for i in range(0, 16, 4)),
            "expires": datetime.date.fromtimestamp(expires).isoformat(), "url": url,
            "qr": segno.make(url, error="m").svg_data_uri(scale=4)}


def includeme(config):
    config.add_traverser(ArchiveTraverser, Site)
    config.scan(__name__)
