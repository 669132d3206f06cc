"""Alerts on abnormal volumes (security.md G5; PIPL art. 57 asks that a
leak be noticed in time to be reported).

A user reading a thousand full records in an hour, exporting tens of
thousands of rows in a day, or hitting hundreds of refusals is either doing
something unusual or is not the person the account belongs to. The audit log
already records every one of those acts, so the alerts are computed from it
rather than from counters kept by the requests themselves: requests stay free
of a shared hot spot, every application server's entries are counted, and
nothing a request does can skip the count.

The scanner reads *sealed* entries in sequence order, from where it stopped
last time (``AlertBook.scanned``), in the sealing transaction's wake (see
views/sealer.py and ``xueji-verify-audit --seal``). It keeps per-user counts
in ten-minute buckets and sums the buckets of each rule's window, so the
window slides in ten-minute steps instead of restarting at each hour.
A rule fires at most once per user per window; each alert is kept in the
book (shown at ``/alerts`` to auditors), written to the audit log and mailed
to the security administrators and auditors, after the scan commits.

Some acts are alerts by themselves, not by their volume: a break-glass read
(breakglass.py) is raised by ``raise_event`` in the request that does it, kept
in the same book, logged and mailed the same way.
"""
import time
from collections import namedtuple

from BTrees.LOBTree import LOBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from xueji_site.kernel import audit
from xueji_site.kernel.i18n import _
from xueji_site.kernel.security import AUDITOR, SECURITY_ADMIN
from xueji_site.kernel.mail import Message
from xueji_site.kernel.root import get_site

BUCKET = 600  # seconds per counting bucket
Rule = namedtuple("Rule", "name setting default window title")
# ``detail``: (name, value) pairs of an event alert; alerts kept before it existed have none.
Alert = namedtuple("Alert", "when rule userid login count limit window_start detail", defaults=((),))

RULES = (
    Rule("detail-views", "xueji.alert_detail_views_per_hour", 1000, 3600,
         _("一小时内查看完整学籍${count}次（阈值${limit}）")),
    Rule("exported-rows", "xueji.alert_export_rows_per_day", 20000, 86400,
         _("一天内导出${count}行（阈值${limit}）")),
    Rule("denied", "xueji.alert_denied_per_hour", 100, 3600,
         _("一小时内被拒绝访问${count}次（阈值${limit}）")),
)
RULES_BY_NAME = {rule.name: rule for rule in RULES}

# Alerts raised by one act (raise_event), not counted from the log.
BREAK_GLASS = "break-glass"
EVENTS = {
    BREAK_GLASS: _("紧急查看学生完整信息：${path}，理由：${reason}（${minutes}分钟内有效）"),
}


class AlertBook(Persistent):
    """The scanner's position, its counting buckets and the alerts raised."""

    def __init__(self):
        self.scanned = 0            # the last seal sequence number scanned
        self.buckets = OOBTree()    # (rule, userid, bucket start) → amount
        self.last_fired = OOBTree()  # (rule, userid) → time of the last alert
        self.alerts = LOBTree()     # microsecond key → Alert

    def newest(self, limit=100):
        keys = list(self.alerts.keys())[-limit:]
        return [self.alerts[k] for k in reversed(keys)]


def book_of(site):
    book = getattr(site, "alert_book", None)
    if book is None:
        book = site.alert_book = AlertBook()
    return book


def limits(settings):
    """rule name → threshold (0 turns a rule off)."""
    return {rule.name: int(settings.get(rule.setting, rule.default)) for rule in RULES}


def amount(rule, entry):
    """How much one audit entry adds to a rule's count (0: not counted)."""
    if not entry.userid or entry.userid == "system":
        return 0
    if rule == "detail-views":
        return 1 if entry.action == "view-record" and entry.result == audit.OK else 0
    if rule == "exported-rows":
        if entry.action != "export" or entry.result != audit.OK:
            return 0
        rows = dict(entry.detail).get("rows", "0")
        return int(rows) if rows.isdigit() else 0
    if rule == "denied":
        return 1 if entry.result == audit.DENIED else 0
    return 0


def _window_total(book, rule, userid, now):
    start = _bucket(now - RULES_BY_NAME[rule].window + BUCKET)
    return sum(book.buckets.values(min=(rule, userid, start), max=(rule, userid, _bucket(now))))


def _bucket(when):
    return int(when // BUCKET * BUCKET)


def _count(book, threshold, rule, entry):
    """Add one entry to its bucket; an Alert when the window's total reaches the threshold."""
    added = amount(rule, entry)
    if not added or threshold <= 0:
        return None
    key = (rule, entry.userid, _bucket(entry.when))
    book.buckets[key] = book.buckets.get(key, 0) + added
    total = _window_total(book, rule, entry.userid, entry.when)
    window = RULES_BY_NAME[rule].window
    last = book.last_fired.get((rule, entry.userid))
    if total < threshold or (last is not None and entry.when - last < window):
        return None
    book.last_fired[(rule, entry.userid)] = entry.when
    return Alert(time.time(), rule, entry.userid, entry.login, total, threshold,
                 _bucket(entry.when - window + BUCKET))


def _sealed_entries(log, after, limit):
    """(seq, Entry) of sealed entries after sequence ``after``, at most ``limit``."""
    head = log.head[0]
    for seq in range(after + 1, min(head, after + limit) + 1):
        sealed = log.seals.get(seq)
        record = log.entries.get(sealed[0]) if sealed is not None else None
        if record is not None:
            yield seq, audit.Entry(sealed[0], *record)


def _forget_old_buckets(book, now):
    """Buckets older than the longest window are never summed again."""
    horizon = _bucket(now - max(rule.window for rule in RULES))
    for key in [k for k in book.buckets.keys() if k[2] < horizon]:
        del book.buckets[key]


def scan(site, settings, limit=20000):
    """Count the entries sealed since the last scan; return the Alerts raised.

    Run in its own transaction (the caller commits). Each alert is also kept
    in the book and written to the audit log.
    """
    book = book_of(site)
    log = site.audit
    if book.scanned >= log.head[0]:
        return []
    thresholds = limits(settings)
    raised = []
    last_seq = book.scanned
    newest = 0.0
    for seq, entry in _sealed_entries(log, book.scanned, limit):
        last_seq, newest = seq, max(newest, entry.when)
        for rule in RULES:
            alert = _count(book, thresholds[rule.name], rule.name, entry)
            if alert is not None:
                raised.append(alert)
    book.scanned = max(last_seq, min(log.head[0], book.scanned + limit))
    for alert in raised:
        _keep(site, book, alert)
    if newest:
        _forget_old_buckets(book, newest)
    return raised


def _keep(site, book, alert):
    key = int(alert.when * 1_000_000)
    while key in book.alerts:
        key += 1
    book.alerts[key] = alert
    detail = {"rule": alert.rule, "user": alert.login, "count": str(alert.count), "limit": str(alert.limit)}
    if "path" in dict(alert.detail):
        detail["path"] = dict(alert.detail)["path"]
    site.audit.append("system", "alerts", "local", "security-alert", "/", audit.OK, detail)


def raise_event(site, rule, userid, login, **detail):
    """Raise one alert for one act (``rule`` in EVENTS), now: kept, logged; the caller mails it."""
    if rule not in EVENTS:
        raise ValueError("unknown event alert %r" % rule)
    now = time.time()
    alert = Alert(now, rule, userid, login, 1, 0, now, tuple(sorted((k, str(v)) for k, v in detail.items())))
    _keep(site, book_of(site), alert)
    return alert


# -- telling people ------------------------------------------------------------

SUBJECT = _("【学籍系统】安全告警：${login}")
BODY = _("您好：\n\n系统发现异常操作量：用户 ${login}，${what}。\n"
         "时间窗口自 ${since} 起。\n\n请登录学籍管理系统，在“安全告警”中查看，并核实是否为本人正常工作；"
         "如属个人信息泄露，请按应急预案处置并依法报告。\n")
# An event's mail names who, when and which record only: the reason stays behind the login.
EVENT_BODIES = {
    BREAK_GLASS: _("您好：\n\n用户 ${login} 于 ${since} 使用紧急查看，打开了一名学生的完整信息（${path}）。\n\n"
                   "请登录学籍管理系统，在“安全告警”中查看其理由，并核实是否确有必要。\n"),
}


def recipients(site):
    """Active users with an e-mail holding the security administrator or auditor role on the site."""
    found = []
    for principal, held in (site.local_roles or {}).items():
        user = site.principals.get(principal)
        if user is not None and getattr(user, "email", "") and user.active \
                and {AUDITOR, SECURITY_ADMIN} & set(held):
            found.append(user)
    return found


def describe(alert, translate):
    from pyramid.i18n import TranslationString
    if alert.rule in EVENTS:
        return translate(TranslationString(EVENTS[alert.rule], mapping=dict(alert.detail)))
    rule = RULES_BY_NAME[alert.rule]
    return translate(TranslationString(rule.title, mapping={"count": alert.count, "limit": alert.limit}))


def mail(mailer, translate, site, alerts, sender):
    """Queue one message per alert to the security administrators and auditors (sent on commit)."""
    import datetime

    from pyramid.i18n import TranslationString

    people = [user.email for user in recipients(site)]
    if not people:
        return 0
    for alert in alerts:
        since = datetime.datetime.fromtimestamp(alert.window_start).strftime("%Y-%m-%d %H:%M")
        if alert.rule in EVENT_BODIES:
            mapping = dict(alert.detail, login=alert.login, since=since)
            body = EVENT_BODIES[alert.rule]
        else:
            mapping = {"login": alert.login, "what": describe(alert, translate), "since": since}
            body = BODY
        mailer.send(Message(subject=translate(TranslationString(SUBJECT, mapping=mapping)), sender=sender,
                            recipients=people, body=translate(TranslationString(body, mapping=mapping))))
    return len(alerts)


def scan_database(db, registry):
    """One scan in its own connection and transaction, mail bound to it; the alerts raised.

    A conflict (another process scanning the same entries) gives up quietly:
    whichever commits has counted them.
    """
    import transaction
    from pyramid.request import Request
    from pyramid_mailer import get_mailer
    from ZODB.POSException import ConflictError

    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    try:
        tm.begin()
        site = get_site(conn)
        raised = scan(site, registry.settings)
        if raised:
            request = Request.blank("/")
            request.registry = registry
            sender = registry.settings.get("mail.default_sender", "xueji@localhost")
            mail(get_mailer(registry).bind(transaction_manager=tm), request.localizer.translate,
                 site, raised, sender)
        tm.commit()
        return raised
    except ConflictError:
        tm.abort()
        return []
    finally:
        conn.close()
