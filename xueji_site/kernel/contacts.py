"""Staff contact details: an e-mail address (approval notices, security alerts) and a
mainland mobile number (for the messaging channels to come).

One set of rules for every way in: the /users page, the user's own account
page and ``xueji-adduser --email/--phone``. Values are normalised before they
are checked and stored: a phone as its 11 digits (``+86 138-0013-8000`` →
``13800138000``), an e-mail address with its domain in lower case.

A change of one's own e-mail address takes effect only when the link mailed to
the new address is followed (``start_email_change`` / ``confirm_email_change``):
a single-use random token, kept only as a keyed hash (crypto.KeyRing.blind), that
expires after ``xueji.email_confirm_hours`` (24).
"""
import hmac
import re
import secrets
import time

from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.i18n import _
from xueji_site.kernel.masking import mask_field
from xueji_site.kernel import settings as xueji_settings

MAX_EMAIL = 254
# Mainland mobile numbers: 11 digits, 1 then 3–9 (MIIT numbering plan: 13x–19x).
MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_NOISE = re.compile(r"[\s\-()（）]")
# The address form colander.Email accepts, without white space or characters that
# could break a mail header; one @, a dotted domain.
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
                   r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")

DEFAULT_CONFIRM_HOURS = 24
OK, INVALID, EXPIRED = "ok", "invalid", "expired"


def normalise_phone(value):
    """Digits only, without a +86 / 0086 country prefix."""
    value = _PHONE_NOISE.sub("", value or "")
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix):]
    if len(value) == 13 and value.startswith("86"):
        value = value[2:]
    return value


def phone_problem(value):
    """None for an acceptable (normalised) mobile number or '', else the reason."""
    if not value:
        return None
    if not MOBILE.match(value):
        return _("请填写11位中国大陆手机号码，如 13800138000")
    return None


def normalise_email(value):
    value = (value or "").strip()
    if "@" in value:
        local, domain = value.rsplit("@", 1)
        value = local + "@" + domain.lower()
    return value


def email_problem(value):
    """None for an acceptable (normalised) address or '', else the reason."""
    if not value:
        return None
    if len(value) > MAX_EMAIL or not EMAIL.match(value):
        return _("电子信箱格式不正确，如 name@example.com")
    return None


def masked_email(value):
    return mask_field("email", value) if value else ""


def masked_phone(value):
    return mask_field("phone", value) if value else ""


def _token_hash(token):
    return keyring().blind("email-token", token)


def confirm_hours(settings):
    return xueji_settings.raw(settings, "xueji.email_confirm_hours")


def start_email_change(user, new_address, hours=DEFAULT_CONFIRM_HOURS, now=None):
    """Keep ``new_address`` waiting and return the token to mail to it (shown nowhere else).
    A second request replaces the first: its link stops working."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    user.email_pending = new_address
    user.email_token_hash = _token_hash(token)
    user.email_token_expires = now + hours * 3600
    return token


def cancel_email_change(user):
    user.email_pending = ""
    user.email_token_hash = None
    user.email_token_expires = 0.0


def confirm_email_change(user, token, now=None):
    """(OK, previous address) when ``token`` is the user's live token; the new address
    then takes effect and the token is spent. (INVALID, None) for a wrong, used or
    missing token; (EXPIRED, None) for one past its time, which is then dropped."""
    now = time.time() if now is None else now
    stored = user.email_token_hash
    if not stored or not token or not hmac.compare_digest(stored, _token_hash(token)):
        return INVALID, None
    if now > user.email_token_expires:
        cancel_email_change(user)
        return EXPIRED, None
    previous = user.email
    user.email = user.email_pending
    cancel_email_change(user)
    return OK, previous
