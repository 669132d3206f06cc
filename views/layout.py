"""What every page shares: breadcrumbs, navigation, the user, languages, flash
messages; and deform's renderer (our template overrides first, translated)."""
import os

import deform
from pyramid.events import BeforeRender, subscriber
from pyramid.location import lineage
from pyramid.threadlocal import get_current_request

from xueji_site.exports import approvals
from xueji_site.kernel import chain, content, permissions as P
from xueji_site.kernel.i18n import LOCALE_LABELS, LOCALES, _
from xueji_site.kernel import breakglass
from xueji_site.record import removal
from xueji_site.search import reports
from xueji_site.kernel.nodes import Node

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")


def _deform_translator(term):
    request = get_current_request()
    return request.localizer.translate(term) if request is not None else term


def setup_deform():
    search_path = (os.path.join(TEMPLATES, "deform"),
                   os.path.join(os.path.dirname(deform.__file__), "templates"))
    deform.Form.set_zpt_renderer(search_path, translator=_deform_translator)


# Where search and statistics apply: the tree above the pupils (not a record, an archive or a graduate).
SEARCHABLE = ("Site", "Bureau", "School", "SchoolClass")


class Layout:
    """Handed to every template as ``layout``."""

    def __init__(self, request, context):
        self.request = request
        self.context = context
        self.user = request.user
        self.t = request.localizer.translate
        self.locale = request.locale_name
        self.locales = [(code, LOCALE_LABELS[code]) for code in LOCALES]

    def title_of(self, obj):
        return self.t(obj.title) if obj.title is not None else ""

    def breadcrumbs(self):
        """(title, url or None) from the root down; hidden ancestors are titled, not linked."""
        crumbs = []
        for node in reversed(list(lineage(self.context))):
            if getattr(node, "content_type", None) is None:
                continue
            url = self.request.resource_url(node) if self.request.has_permission(P.VIEW, node) else None
            crumbs.append((self.title_of(node), url))
        return crumbs

    def places(self):
        """Where the user holds roles: the first stop after logging in."""
        if self.user is None:
            return []
        return [(self.title_of(n), self.request.resource_url(n)) for n in self.user.places
                if self.request.has_permission(P.VIEW, n)]

    def pager_label(self, title):
        """A listing's pager, named after the listing: several on one page stay distinct landmarks."""
        return self.t(_("${title}分页", mapping={"title": title}))

    def tools(self):
        """What the user's site-wide roles let them do, for the home page: (label, url, what it is).
        The auditor (who views no part of the tree) finds the audit tools here, not an empty page."""
        site = getattr(self.request, "site", None) if self.user is not None else None
        if site is None:
            return []
        url, t, found = self.request.resource_url, self.t, []
        if self.can(P.AUDIT, site):
            found += [(t(_("审计日志")), url(site, "audit"), t(_("按用户、操作、对象和结果查询并导出审计记录"))),
                      (t(_("安全告警")), url(site, "alerts"), t(_("异常操作量和紧急查看的告警"))),
                      (t(_("审计链校验")), url(site, "audit-verify"), t(_("检查审计记录是否被修改或删除")))]
        if self.can(P.MANAGE_USERS, site):
            found.append((t(_("账号管理")), url(site, "users"), t(_("新建、停用、解锁账号，重置密码和两步验证"))))
        queue = self.export_approvals()
        if queue:
            found.append((t(_("导出审批")), queue, t(_("批量导出和对外提供数据的申请与审批"))))
        return found

    def break_glass(self):
        """On a record the user sees masked but may open by break-glass: ("offer", url);
        while it is open: ("open", until HH:MM); else None."""
        record = breakglass.record_of(self.context) if self.context is not None else None
        if record is None or self.user is None or not self.can(P.BREAK_GLASS, record):
            return None
        until = breakglass.open_until(self.user, record)
        if until is not None:
            import datetime
            return ("open", datetime.datetime.fromtimestamp(until).strftime("%H:%M"))
        if not self.can(P.VIEW_SENSITIVE, record):
            return ("offer", self.request.resource_url(record, "break-glass"))
        return None

    P = P  # the permission names, for templates: layout.can(layout.P.EDIT)

    def can(self, permission, obj=None):
        return bool(self.request.has_permission(permission, obj if obj is not None else self.context))

    def actions(self):
        """Tabs for the current node: (label, url, active)."""
        ctx, req, t = self.context, self.request, self.t
        view = req.view_name
        tabs = []
        if getattr(ctx, "content_type", None) is None:
            return tabs
        if self.can(P.VIEW_RECORD if ctx.content_type == "Student" else P.VIEW):
            tabs.append((t(_("查看")), req.resource_url(ctx), view == ""))
        if ctx.content_type in SEARCHABLE and (self.can(P.VIEW) or (ctx.content_type == "Site" and self.user)):
            tabs.append((t(_("查询")), req.resource_url(ctx, "search"), view == "search"))
            tabs.append((t(_("统计")), req.resource_url(ctx, "reports"), view == "reports"))
        if ctx.content_type != "Site" and self.can(P.EDIT):
            tabs.append((t(_("编辑")), req.resource_url(ctx, "edit"), view == "edit"))
        if ctx.content_type in ("School", "SchoolClass") and self.can(P.EDIT):
            tabs.append((t(_("批量修改")), req.resource_url(ctx, "batch"), view == "batch"))
        if ctx.content_type in ("School", "Bureau") and self.can(P.EDIT):
            tabs.append((t(_("疑似重复")), req.resource_url(ctx, "duplicates"), view == "duplicates"))
        if ctx.content_type == "Student" and self.can(P.VIEW_RECORD):
            tabs.append((t(_("学籍状态")), req.resource_url(ctx, "status"), view == "status"))
        if ctx.content_type == "School" and self.can(P.ADD):
            tabs.append((t(_("办理转入")), req.resource_url(ctx, "transfer-in"), view == "transfer-in"))
        if (ctx.content_type == "School" and self.can(P.APPROVE_SCHOOL)) or (
                ctx.content_type == "Bureau" and self.can(P.APPROVE_BUREAU)):
            tabs.append((t(_("待办异动")), req.resource_url(ctx, "changes"), view == "changes"))
        tabs += self._graduate_tabs(ctx, req, view)  # issue 5: graduation and archive
        tabs += self._grades_tabs(ctx, req, view)  # issue 13: grades
        if self.can(P.SHARE):
            tabs.append((t(_("权限")), req.resource_url(ctx, "sharing"), view == "sharing"))
        if ctx.content_type == "Site" and self.can(P.MANAGE_USERS):
            tabs.append((t(_("账号管理")), req.resource_url(ctx, "users"), view == "users"))
        if ctx.content_type == "Site" and self.can(P.AUDIT):
            tabs.append((t(_("审计日志")), req.resource_url(ctx, "audit"), view == "audit"))
            tabs.append((t(_("安全告警")), req.resource_url(ctx, "alerts"), view == "alerts"))
        if ctx.content_type == "Site" and self.user is not None:  # issue 3: API tokens
            tabs.append((t(_("API 令牌")), req.resource_url(ctx, "tokens"), view == "tokens"))
        if ctx.content_type == "School" and self.can(P.ADD):  # issue 3: batch import
            tabs.append((t(_("导入")), req.resource_url(ctx, "import"), view.startswith("import")))
        if ctx.content_type in ("Bureau", "School", "SchoolClass") and self.can(P.VIEW):  # G3/G4
            tabs.append((t(_("申请导出")), req.resource_url(ctx, "request-export"), view == "request-export"))
        if ctx.content_type not in ("Site",) and self.can(P.DELETE) and \
                (ctx.content_type != "Student" or removal.may_delete(ctx, req.registry)):
            tabs.append((t(_("删除")), req.resource_url(ctx, "delete"), view == "delete"))
        return tabs

    def _grades_tabs(self, ctx, req, view):
        """Issue 13: the grades of a bureau, school or class (staff), of a pupil (staff, family)."""
        kind = ctx.content_type
        if kind in ("Bureau", "School") and self.can(P.READ_GRADES):
            shown = True
        elif kind == "SchoolClass":
            shown = self.can(P.READ_GRADES) or self.can(P.ENTER_GRADES)
        elif kind == "Student":
            shown = self.can(P.READ_GRADES, ctx.__parent__) or self.can(P.OWN_GRADES)
        else:
            shown = False
        return [(self.t(_("成绩")), req.resource_url(ctx, "grades"), view.startswith("grades"))] if shown else []

    def _graduate_tabs(self, ctx, req, view):
        """Issue 5: graduating (school, bureau), the school's archive, a graduate's page."""
        t, tabs = self.t, []
        if ctx.content_type in ("School", "Bureau") and self.can(P.GRADUATE):
            label = _("毕业办理") if ctx.content_type == "School" else _("毕业审核")
            tabs.append((t(label), req.resource_url(ctx, "graduation"), view == "graduation"))
        if ctx.content_type == "School" and getattr(ctx, "graduate_archive", None) is not None and self.can(P.VIEW):
            tabs.append((t(_("毕业生档案")), req.resource_url(ctx.graduate_archive), False))
        if ctx.content_type == "Student" and ctx.status in ("graduated", "completed", "incomplete") \
                and self.can(P.VIEW_RECORD):
            tabs.append((t(_("毕业证书")), req.resource_url(ctx, "graduate"), view == "graduate"))
        return tabs

    def todo_count(self):
        """How many requests wait for this user's decision (the chain's queue)."""
        site = getattr(self.request, "site", None)
        if self.user is None or site is None:
            return 0
        return len(chain.queue_for(site, self.user, registry=self.request.registry))

    def export_approvals(self):
        """The export approvals page (G3/G4), for approvers and for users with requests of their own."""
        site = getattr(self.request, "site", None)
        if self.user is None or site is None:
            return None
        if approvals.approver_paths(site, self.user) or getattr(self.user, "export_requests", None):
            return self.request.resource_url(site, "export-approvals")
        return None

    def addable(self):
        if not self.can(P.ADD):
            return []
        return [(self.t(ct.title), self.request.resource_url(self.context, "add", query={"type": ct.name}))
                for ct in content.addable_types(self.context)]

    def print_heading(self):
        """What a printed page says it covers: the scope by name, and the date (issue 12)."""
        import datetime
        from pyramid.traversal import find_root
        # tree nodes only: an error page's context is the exception (a Response with a content_type);
        # and no database for a page without a user (a refused request may have no transaction)
        if self.user is None or not isinstance(self.context, Node):
            return ""
        site = getattr(self.request, "site", None)
        if site is None or find_root(self.context) is not site:
            return ""
        scope = "、".join(reports.scope_titles(site, self.user, self.context, self.t))
        return self.t(_("${scope} · 打印日期 ${date} · ${who}", mapping={
            "scope": scope, "date": datetime.date.today().isoformat(), "who": self.user.title}))

    def flash(self):
        return self.request.session.pop_flash()

    def csrf_token(self):
        return self.request.session.get_csrf_token()

    def static(self, path):
        return self.request.static_url("xueji_site:static/" + path)


@subscriber(BeforeRender)
def add_layout(event):
    request = event.get("request")
    if request is not None and "layout" not in event:
        event["layout"] = Layout(request, event.get("context") or getattr(request, "context", None))


def includeme(config):
    setup_deform()
    config.add_subscriber(add_layout, BeforeRender)
