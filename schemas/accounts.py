"""Schemas for logging in, changing a password, the second factor and granting roles.

The password rules follow MLPS practice (length, character classes, rotation
elsewhere) and add what ASVS asks for: no common or breached password, and
nothing guessable from the person (login, ID number, birth date).
"""
import datetime
import functools
import os
import re

import colander
import deform

import xueji_site
from xueji_site.kernel.i18n import _
from xueji_site.kernel.users import BCRYPT_MAX_BYTES
from .base import FormSchema, Stripped, person_name
from xueji_site.kernel.security import role_label

MIN_LENGTH = 12
COMMON_PASSWORDS = os.path.join(os.path.dirname(os.path.abspath(xueji_site.__file__)),
                                "data", "common-passwords.txt")
_PADDING = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@functools.lru_cache(maxsize=1)
def common_passwords():
    """The shipped list (see the header of xueji_site/data/common-passwords.txt)."""
    with open(COMMON_PASSWORDS, encoding="utf-8") as src:
        return frozenset(line.strip() for line in src if line.strip() and not line.startswith("#"))


def is_common(password):
    """A listed password, or a listed word padded with digits and symbols
    (``Password@2024`` is ``password`` to a cracker's rule set)."""
    lowered = password.lower()
    words = common_passwords()
    base = _PADDING.sub("", lowered)
    return lowered in words or (len(base) >= 4 and base in words)


def _date_forms(birth_date):
    if isinstance(birth_date, str):
        try:
            birth_date = datetime.date.fromisoformat(birth_date)
        except ValueError:
            return ()
    if not isinstance(birth_date, datetime.date):
        return ()
    return {birth_date.strftime(f) for f in ("%Y%m%d", "%Y-%m-%d", "%y%m%d", "%d%m%Y", "%m%d%Y")}


def _personal_problems(lowered, login, id_number, birth_date):
    problems = []
    if login and login.lower() in lowered:
        problems.append(_("密码不能包含登录名"))
    id_number = (id_number or "").strip().lower()
    if id_number and (id_number in lowered or (len(id_number) >= 8 and id_number[-6:] in lowered)):
        problems.append(_("密码不能包含身份证件号码"))
    if any(form in lowered for form in _date_forms(birth_date)):
        problems.append(_("密码不能包含出生日期"))
    return problems


def password_problems(password, login="", id_number="", birth_date=None):
    """Translated reasons a new password is refused (empty list: acceptable).

    ``id_number`` and ``birth_date`` are checked when known (the whole ID
    number or its last six characters; the birth date as 20170312, 2017-03-12,
    170312, 12032017 or 03122017).
    """
    problems = []
    if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
        problems.append(_("密码过长：最多72字节（约24个汉字）"))
    if len(password) < MIN_LENGTH:
        problems.append(_("密码至少需要 ${n} 个字符", mapping={"n": MIN_LENGTH}))
    classes = sum(any(test(c) for c in password) for test in (
        str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum()))
    if classes < 3:
        problems.append(_("密码需包含大写字母、小写字母、数字、符号中的至少三类"))
    problems += _personal_problems(password.lower(), login, id_number, birth_date)
    if is_common(password):
        problems.append(_("密码过于常见（在常见泄露密码列表中），请换一个"))
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
        problems = password_problems(value["new_password"], getattr(user, "login", ""),
                                     getattr(user, "id_number", ""), getattr(user, "birth_date", None))
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


class TotpSchema(FormSchema):
    code = colander.SchemaNode(
        Stripped(), title=_("动态验证码"), description=_("身份验证器应用显示的6位数字"),
        validator=colander.Regex(r"^[0-9]{6}$", _("请输入6位数字")),
        widget=deform.widget.TextInputWidget(attributes={
            "autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@colander.deferred
def _role_choices(node, kw):
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
                                validator=person_name())
    role = colander.SchemaNode(colander.String(), title=_("角色"),
                               widget=_role_choices, validator=_role_validator)
