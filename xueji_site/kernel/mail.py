"""Telling approvers that something waits for them, by e-mail.

Mail joins the transaction (pyramid_mailer bound to the request's or the
script's transaction manager): it leaves only if the change it announces was
committed, and a retried request sends it once. A message names the change
type, the deadline and the pupil's surname only (张*): details stay behind
the login.

``xueji.mailer`` chooses the delivery: ``smtp`` (production, mail.host /
mail.port / mail.default_sender), ``debug`` (development: one file a message
under ``mail.debug``, default ``var/mail``, written when the transaction
commits: devmail.py), ``memory`` (tests: pyramid_mailer's outbox) or ``none``
(the default: messages are dropped).
"""
from email.policy import compat32

from pyramid.i18n import TranslationString
from pyramid_mailer.message import Message as _Message

from pyramid.request import Request
from pyramid.threadlocal import get_current_registry, get_current_request
from pyramid.traversal import find_root
from pyramid_mailer import _set_mailer, get_mailer

from xueji_site.kernel import chain, events, security
from xueji_site.kernel.devmail import FileMailer, NullMailer, mail_directory
from xueji_site.kernel.i18n import _
from xueji_site.kernel import settings as xueji_settings

SUBJECT = _("【学籍系统】${kind}待您审批")
BODY = _("您好：\n\n有一项${process}（${kind}）等待${unit}审批：${subject}。\n"
         "办理期限：${due}。${overdue}\n\n请登录学籍管理系统，在“待办”中处理。\n")
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


def masked_name(name):
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def approvers(site, node, permission, registry=None, type_name=None):
    """Active users with an e-mail holding, on ``node`` itself, a role with ``permission``
    there (or, with ``type_name``, on the objects of that type below it)."""
    roles = security.roles_with(type_name or node.content_type, permission, registry)
    found = []
    for principal, held in (node.local_roles or {}).items():
        user = site.principals.get(principal)
        if user is not None and getattr(user, "email", "") and roles.intersection(held) and user.active:
            found.append(user)
    return found


def subject_title(request, translate, registry=None):
    """How a message names what a request is about: never more than a masked name."""
    process = chain.process_of(request, registry)
    if process.subject_title is not None:
        return translate(process.subject_title(request))
    return translate(getattr(request.subject, "title", "") or "")


def waiting_message(translate, request, node, recipients, sender, overdue=False, registry=None):
    mapping = {"kind": translate(chain.describe(request, registry)), "unit": translate(node.title),
               "subject": subject_title(request, translate, registry),
               "process": translate(chain.process_of(request, registry).label),
               "due": request.due(registry).isoformat(), "overdue": translate(OVERDUE) if overdue else ""}
    return Message(subject=translate(TranslationString(SUBJECT, mapping=mapping)), sender=sender,
                   recipients=[user.email for user in recipients],
                   body=translate(TranslationString(BODY, mapping=mapping)))


def announce(mailer, translate, site, request, sender, overdue=False, registry=None):
    """Mail the approvers of the step now waiting; return how many were told."""
    node = request.waiting_node(registry)
    if node is None:
        return 0
    permission = chain.process_of(request, registry).step(request.waiting_step).permission
    recipients = approvers(site, node, permission, registry)
    if not recipients:
        return 0
    mailer.send(waiting_message(translate, request, node, recipients, sender, overdue, registry))
    return len(recipients)


def _mailer_and_translate(subject):
    """The mailer bound to the transaction that changes ``subject``, and a translator:
    the web request's when there is one, else the script's connection's."""
    web = get_current_request()
    if web is not None and getattr(web, "registry", None) is not None and hasattr(web, "tm"):
        return get_mailer(web), web.localizer.translate, web.registry
    registry = get_current_registry()
    blank = Request.blank("/")
    blank.registry = registry
    mailer = get_mailer(registry).bind(transaction_manager=find_root(subject)._p_jar.transaction_manager)
    return mailer, blank.localizer.translate, registry


def on_waiting(event):
    """A request made or moved on to its next step: tell who decides now (after commit)."""
    request = event.request
    if request.state != chain.OPEN or not chain.process_of(request).mail:
        return
    mailer, translate, registry = _mailer_and_translate(request.subject)
    sender = registry.settings.get("mail.default_sender", "xueji@localhost")
    announce(mailer, translate, find_root(request.subject), request, sender, registry=registry)


def includeme(config):
    kind = xueji_settings.raw(config.registry.settings, "xueji.mailer")
    if kind == "smtp":
        config.include("pyramid_mailer")
    elif kind == "debug":
        settings = config.registry.settings
        _set_mailer(config, FileMailer(mail_directory(settings), settings.get("mail.default_sender")))
    elif kind == "memory":
        config.include("pyramid_mailer.testing")
    else:
        _set_mailer(config, NullMailer())
    config.add_subscriber(on_waiting, events.ApprovalRequested)
    config.add_subscriber(on_waiting, events.ApprovalDecided)
