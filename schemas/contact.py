"""The contact-details form of an account (``/account`` and ``/users``): e-mail and
mainland mobile number, with the rules of xueji_site/contacts.py."""
import colander
import deform

from xueji_site.kernel import contacts
from xueji_site.kernel.i18n import _
from .base import FormSchema


class _Normalised(colander.String):
    """A string normalised by ``normalise`` ('' when nothing is left)."""

    def __init__(self, normalise, **kw):
        super().__init__(**kw)
        self.normalise = normalise

    def deserialize(self, node, cstruct):
        if cstruct is colander.null or cstruct is None:
            return ""
        if not isinstance(cstruct, str):
            raise colander.Invalid(node, _("请填写文字"))
        return self.normalise(cstruct)


def _rule(problem):
    def validate(node, value):
        reason = problem(value)
        if reason:
            raise colander.Invalid(node, reason)
    return validate


class ContactSchema(FormSchema):
    email = colander.SchemaNode(
        _Normalised(contacts.normalise_email), name="email", title=_("电子信箱"), missing="",
        validator=colander.All(colander.Length(0, 320), _rule(contacts.email_problem)),
        description=_("用于接收待审批事项和安全告警通知"),
        widget=deform.widget.TextInputWidget(attributes={
            "autocomplete": "email", "inputmode": "email", "maxlength": "254"}))
    phone = colander.SchemaNode(
        _Normalised(contacts.normalise_phone), name="phone", title=_("手机号码"), missing="",
        validator=colander.All(colander.Length(0, 40), _rule(contacts.phone_problem)),
        description=_("11位中国大陆手机号码，用于今后的短信等通知渠道"),
        widget=deform.widget.TextInputWidget(attributes={
            "autocomplete": "tel", "inputmode": "tel", "maxlength": "20"}))


def contact_schema():
    return ContactSchema()
