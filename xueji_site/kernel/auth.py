"""Authentication rules, whoever asks: passwords, account lockout, the per-address
throttle, and second-factor (TOTP) codes. No HTTP here: the login, second-factor
and re-authentication pages (views/auth.py, totp.py, reauth.py) apply these.

- An account is locked for ``LOCK_SECONDS`` after ``MAX_FAILURES`` failed
  attempts in a row (password or code); a success resets the count.
- An address is throttled after ``xueji.login_rate`` failures (a moving window in
  process memory, so each application server counts for itself). Only failures
  count, so a school's staff logging in together behind one NAT address are not
  turned away at 8 o'clock.
- A TOTP code is good within one step of now, and never twice (the step is
  remembered), so a code read over a shoulder cannot be replayed.
- Every failure leaves an audit entry saying why; an unknown login costs the
  same time as a known one (``dummy_check``), so timing tells nothing.
"""
import time

import pyotp

from xueji_site.kernel import audit, ratelimit
from xueji_site.kernel.users import check_password, dummy_check

MAX_FAILURES = 5
LOCK_SECONDS = 30 * 60
PENDING_SECONDS = 5 * 60  # time allowed between the password and the second factor
ISSUER = "xueji"
UNKNOWN, LOCKED, INACTIVE, BAD_PASSWORD = "unknown-login", "locked", "inactive", "bad-password"


# -- the per-address throttle -------------------------------------------------------

def _limiter(registry):
    """This application's counter of failed attempts per address."""
    return ratelimit.of_registry(registry, "xueji.login_rate")


def throttled(registry, address):
    """Seconds to wait when ``address`` has used up its failed attempts, else 0."""
    return _limiter(registry).wait(address or "unknown")


def count_failure(registry, address):
    """One failed attempt (password, unknown login, locked account, wrong code) from ``address``."""
    _limiter(registry).add(address or "unknown")


# -- the account --------------------------------------------------------------------

def is_locked(user, now=None):
    return user.locked_until > (time.time() if now is None else now)


def record_failure(registry, site, user, address, reason):
    """One more failed attempt on ``user``: counted for the address, and the
    account locked at MAX_FAILURES; audited."""
    count_failure(registry, address)
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILURES:
        user.locked_until = time.time() + LOCK_SECONDS
        reason = "locked-now"
    site.audit.append(user.userid, user.login, address, "login", "", audit.FAILED, {"reason": reason})


def check_login(registry, site, user, login, password, address, now=None):
    """None when ``password`` opens ``user``'s account now; else why not (UNKNOWN,
    LOCKED, INACTIVE, BAD_PASSWORD), counted and audited."""
    if user is None:
        dummy_check(password)
        count_failure(registry, address)
        site.audit.append("", (login or "")[:100], address, "login", "", audit.FAILED, {"reason": UNKNOWN})
        return UNKNOWN
    if is_locked(user, now):
        count_failure(registry, address)
        site.audit.append(user.userid, user.login, address, "login", "", audit.DENIED, {"reason": LOCKED})
        return LOCKED
    if not user.active or not check_password(password, user.password_hash):
        reason = INACTIVE if not user.active else BAD_PASSWORD
        record_failure(registry, site, user, address, reason)
        return reason
    return None


# -- second factor ------------------------------------------------------------------

def matching_step(secret, code, last_step, now=None):
    """The time step ``code`` belongs to (within ±1 step of now), if not used before; else None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if now is None else now)
    for step in (current - 1, current, current + 1):
        if step > last_step and pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def provisioning_uri(secret, login):
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)
