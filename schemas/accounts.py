"""Schemas for logging in, changing a password and granting roles."""
import colander
import deform

from xueji_site.i18n import _
from xueji_site.users import BCRYPT_MAX_BYTES
from .base import FormSchema, Stripped

MIN_LENGTH = 12


def password_problems(password, login=""):
    """Translated reasons a new password is refused (empty list: acceptable)."""
    problems = []
    if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
        problems.append(_("密码过长：最多72字节（约24个汉字）"))
    if len(password) < MIN_LENGTH:
        problems.append(_("密码至少需要 ${n} 个字符", mapping={"n": MIN_LENGTH}))
    classes = sum(any(test(c) for c in password) for test in (
        str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum()))
    if classes < 3:
        problems.append(_("密码需包含大写字母、小写字母、数字、符号中的至少三类"))
    if login and login.lower() in password.lower():
        problems.append(_("密码不能包含登录名"))
    return problems


class LoginSchema(FormSchema):
    login = colander.SchemaNode(Stripped(), title=_("登录名"), validator=colander.Length(1, 100))
    password = colander.SchemaNode(
        colander.String(), title=_("密码"), widget=deform.widget.PasswordWidget(),
        validator=colander.Length(1, 200),
    )


@colander.deferred
def _new_password_validator(node, kw):
    user = kw.get("user")

    def validate(form, value):
        if value["new_password"] != value["confirm"]:
            exc = colander.Invalid(form, _("两次输入的新密码不一致"))
            exc["confirm"] = _("两次输入的新密码不一致")
            raise exc
        problems = password_problems(value["new_password"], getattr(user, "login", ""))
        if problems:
            exc = colander.Invalid(form, problems[0])
            exc["new_password"] = problems[0]
            raise exc
    return validate


class ChangePasswordSchema(FormSchema):
    current = colander.SchemaNode(colander.String(), title=_("当前密码"),
                                  widget=deform.widget.PasswordWidget())
    new_password = colander.SchemaNode(colander.String(), title=_("新密码"),
                                       widget=deform.widget.PasswordWidget(),
                                       description=_("至少12个字符，包含三类字符，不含登录名"))
    confirm = colander.SchemaNode(colander.String(), title=_("再次输入新密码"),
                                  widget=deform.widget.PasswordWidget())


def change_password_schema():
    return ChangePasswordSchema(validator=_new_password_validator)


@colander.deferred
def _role_choices(node, kw):
    from xueji_site.security import role_label
    request = kw["request"]
    roles = kw.get("roles", ())
    return deform.widget.SelectWidget(
        values=[(r, request.localizer.translate(role_label(r))) for r in roles])


@colander.deferred
def _role_validator(node, kw):
    return colander.OneOf(list(kw.get("roles", ())), msg_err=_("您不能在此授予该角色"))


class GrantSchema(FormSchema):
    login = colander.SchemaNode(
        Stripped(), title=_("登录名"), validator=colander.Regex(r"^[A-Za-z0-9_.@\-]{2,64}$",
                                                               _("登录名只能包含字母、数字和 _ . @ -")),
        description=_("没有账号的用户将新建账号并生成一次性密码"),
    )
    title = colander.SchemaNode(Stripped(), title=_("姓名（新建账号时）"), missing="",
                                validator=colander.Length(0, 60))
    role = colander.SchemaNode(colander.String(), title=_("角色"),
                               widget=_role_choices, validator=_role_validator)
