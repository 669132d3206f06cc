"""What the grades pages share: the term asked for, the exam asked for (checked to
concern the node), the class's grade and stage, and who may do what here."""
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound

from xueji_site.grades import books, codes
from xueji_site.grades.entry import subject_label
from xueji_site.kernel import permissions as P
from xueji_site.kernel.i18n import _


def term_asked(request):
    """The term of ``?term=`` when it is one, else the current term."""
    asked = request.params.get("term", "")
    try:
        codes.parse_term(asked)
    except ValueError:
        return codes.term_of()
    return asked


def terms_offered(request, term):
    """(term, label) of the current term and the four before it, plus ``term`` if older."""
    t = request.localizer.translate
    found = codes.terms_around()
    if term not in found:
        found.append(term)
    return [(each, t(codes.term_label(each))) for each in found]


def exam_asked(request, node):
    """The exam of ``?exam=`` that concerns ``node``, or 404."""
    exam = books.get_exam(request.site, request.params.get("exam", ""))
    if exam is None or exam.id not in {e.id for e in books.exams_in_scope(request.site, node, exam.term)}:
        raise HTTPNotFound()
    return exam


def subject_asked(request, exam):
    subject = request.params.get("subject", "")
    if exam.subject(subject) is None:
        raise HTTPNotFound()
    return subject


def stage_of_class(klass, term):
    return codes.stage_of_grade(books.class_grade(klass, term))


def may_read(request, node):
    return bool(request.has_permission(P.READ_GRADES, node))


def may_enter_some(request, klass):
    return bool(request.has_permission(P.ENTER_GRADES, klass))


def require(allowed):
    if not allowed:
        raise HTTPForbidden()


def subject_name(request, exam, subject):
    return request.localizer.translate(subject_label(exam, subject))


def kind_label(request, exam):
    return request.localizer.translate(codes.EXAM_KIND_LABELS.get(exam.kind, exam.kind))


NO_EXAMS = _("本学期尚无考试")
