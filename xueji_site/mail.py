"""Telling approvers that something waits for them, by e-mail.

Mail joins the transaction (pyramid_mailer bound to the request's or the
script's transaction manager): it leaves only if the change it announces was
committed, and a retried request sends it once. A message names the change
type, the deadline and the pupil's surname only (张*): details stay behind
the login.

``xueji.mailer`` chooses the delivery: ``smtp`` (production, mail.host /
mail.port / mail.default_sender), ``debug`` (development: one file a message
under ``mail.debug``, default ``var/mail``, written when the transaction
commits: devmail.py), or ``none`` (the default: nothing leaves the process).
"""
from email.policy import compat32

from pyramid.i18n import TranslationString
from pyramid_mailer.message import Message as _Message

from . import security, workflow
from .i18n import _

SUBJECT = _("【学籍系统】${kind}待您审批")
BODY = _("您好：\n\n有一项学籍异动（${kind}）等待${unit}审批：学生 ${pupil}。\n"
         "办理期限：${due}。${overdue}\n\n请登录学籍管理系统，在“待办异动”中处理。\n")
OVERDUE = _("该申请已超过办理期限，请尽快处理。")


class Message(_Message):
    """A message serialised with CRLF line endings.

    repoze.sendmail hands smtplib the message as bytes, and smtplib normalises
    line endings only for str: with the default policy every line ends in a bare
    LF, which strict servers (RFC 5321 §2.3.8) read as one over-long line and
    refuse once the message passes 1,000 bytes.
    """

    def to_message(self):
        message = super().to_message()
        message.policy = compat32.clone(linesep="\r\n")
        return message


def includeme(config):
    kind = config.registry.settings.get("xueji.mailer", "none")
    if kind == "smtp":
        config.include("pyramid_mailer")
    elif kind == "debug":
        from pyramid_mailer import _set_mailer
        from .devmail import FileMailer, mail_directory
        settings = config.registry.settings
        _set_mailer(config, FileMailer(mail_directory(settings), settings.get("mail.default_sender")))
    else:
        config.include("pyramid_mailer.testing")


def masked_name(name):
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def approvers(site, node, step):
    """Users holding, on ``node`` itself, a role that may take ``step`` there (with an e-mail)."""
    permission = workflow.STEP_PERMISSION.get(step, "approve-bureau")
    roles = security.roles_with(node.content_type, permission)
    found = []
    for principal, held in (node.local_roles or {}).items():
        user = site.principals.get(principal)
        if user is not None and getattr(user, "email", "") and roles.intersection(held) and user.active:
            found.append(user)
    return found


def waiting_message(translate, change, student, node, recipients, sender, overdue=False):
    mapping = {"kind": translate(change.type.label), "unit": node.title, "pupil": masked_name(student.name),
               "due": change.due().isoformat(), "overdue": translate(OVERDUE) if overdue else ""}
    return Message(subject=translate(TranslationString(SUBJECT, mapping=mapping)), sender=sender,
                   recipients=[user.email for user in recipients],
                   body=translate(TranslationString(BODY, mapping=mapping)))


def announce(mailer, translate, site, change, student, sender, overdue=False):
    """Mail the approvers of the step now waiting; return how many were told."""
    node = change.waiting_node(student)
    if node is None:
        return 0
    recipients = approvers(site, node, change.waiting_step)
    if not recipients:
        return 0
    mailer.send(waiting_message(translate, change, student, node, recipients, sender, overdue))
    return len(recipients)


def overdue_changes(site, today=None):
    """(student, change) for every open change past its step's deadline, from the waiting_at index."""
    if "waiting_at" not in site.catalog:
        return []
    found = []
    for docid in list(site.catalog["waiting_at"]._rev_index.keys()):
        student = site.docmap.get(docid)
        change = getattr(student, "open_change", None)
        if change is not None and change.overdue(today):
            found.append((student, change))
    return found
