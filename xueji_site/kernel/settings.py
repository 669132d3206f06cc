"""The ``xueji.*`` settings: each declared once, with its parser, default and meaning.

The kernel declares its own here (``KERNEL``); a feature declares its own from
its ``includeme`` (``config.add_setting(Setting(...))``). When the
configuration is committed every declared setting is parsed once from the ini
file's values (``registry.xueji_settings``); a value that does not parse stops
the application from starting, with the setting's name and what it expects.
Code reads a setting with ``value(registry, name)`` and never repeats a
default. ``raw(settings, name)`` parses one of the kernel's from a plain
settings dict, for scripts before the application exists.
"""
from dataclasses import dataclass
from typing import Callable

from pyramid.exceptions import ConfigurationError
from pyramid.settings import asbool, aslist
from pyramid.threadlocal import get_current_registry


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable    # text -> value; raises ValueError with a message
    default: object    # the value when the ini file leaves it out (already parsed)
    doc: str


def whole(low=None, high=None):
    def parse(text):
        number = int(str(text).strip())
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValueError("a whole number from %s to %s" % (low, high))
        return number
    return parse


def number(text):
    return float(str(text).strip())


def boolean(text):
    return asbool(text)


def text(value):
    return str(value if value is not None else "").strip()


def seconds_or_off(text):
    """A number of seconds (0: every time), or "off" (None)."""
    value = str(text).strip().lower()
    if value in ("off", "false", "no", "none", ""):
        return None
    return float(value)


def words(value):
    return tuple(aslist(value or ""))


KERNEL = (
    Setting("xueji.secure_cookies", boolean, True, "session cookies only over HTTPS (false only in development)"),
    Setting("xueji.session_idle_timeout", whole(60), 1800, "seconds of inactivity before a session ends"),
    Setting("xueji.session_absolute_timeout", number, 12 * 3600, "seconds after login a session ends whatever"),
    Setting("xueji.password_max_age_days", number, 90, "days before a password must change (0: never)"),
    Setting("xueji.login_rate", text, "20/minute", "login attempts per client address (limits' notation)"),
    Setting("xueji.audit_retention_days", whole(190), 190, "the audit log keeps at least this many days"),
    Setting("xueji.reauth_seconds", number, 900, "a password older than this is asked for again before "
                                                 "grants, imports and exports"),
    Setting("xueji.audit_seal_seconds", seconds_or_off, 60.0, "in-app audit sealing interval (off: cron only)"),
    Setting("xueji.bcrypt_rounds", whole(4, 16), 12, "bcrypt cost (4 in tests)"),
    Setting("xueji.mailer", text, "none", "smtp, debug (files under mail.debug), memory (tests) or none (dropped)"),
    Setting("xueji.email_confirm_hours", whole(1), 24, "hours a link confirming a new e-mail address stays valid"),
    Setting("xueji.break_glass_minutes", whole(1, 60), 15, "minutes a break-glass read stays open"),
    Setting("xueji.lookup_audit_interval", number, 1.0, "seconds between writes of the public look-ups' audit"),
    Setting("xueji.audit_mirror", text, "", "the append-only copy of the audit log (file:// or postgresql://)"),
    Setting("xueji.min_free_bytes", whole(0), 256 * 1024 * 1024, "commits are refused below this much free disk"),
    Setting("xueji.upload_dir", text, "", "where uploads wait between their two steps (default var/uploads)"),
    Setting("xueji.reraise_errors", boolean, False, "let errors through to the server (development only)"),
    Setting("xueji.includes", words, (), "more feature packages to include"),
    Setting("xueji.storage_tls", text, "", "required, or off: whether a networked storage must use TLS "
                                           "(default: required when cookies are secure)"),
)


def add_setting(config, setting):
    registry = config.registry

    def register():
        declared(registry)[setting.name] = setting

    config.action(("xueji-setting", setting.name), register)


def declared(registry):
    found = getattr(registry, "xueji_declared_settings", None)
    if found is None:
        found = registry.xueji_declared_settings = {}
    return found


def _parse(setting, raw_settings):
    if setting.name not in raw_settings:
        return setting.default
    try:
        return setting.parse(raw_settings[setting.name])
    except (TypeError, ValueError) as exc:
        raise ConfigurationError("%s = %r: %s (%s)" % (setting.name, raw_settings[setting.name], exc, setting.doc))


def parse_all(registry):
    """Parse every declared setting once (a configuration action, run last)."""
    raw_settings = registry.settings or {}
    registry.xueji_settings = {name: _parse(setting, raw_settings) for name, setting in declared(registry).items()}


def value(registry, name):
    """A setting's parsed value (its default when the ini file leaves it out)."""
    registry = registry if registry is not None else get_current_registry()
    return registry.xueji_settings[name]


def raw(settings, name):
    """One of the kernel's settings parsed from a plain settings dict (scripts, before the app)."""
    for setting in KERNEL:
        if setting.name == name:
            return _parse(setting, settings or {})
    raise KeyError(name)


def table(registry):
    """(name, default, meaning) of every declared setting, for the docs."""
    return [(s.name, s.default, s.doc) for _name, s in sorted(declared(registry).items())]


def includeme(config):
    config.add_directive("add_setting", add_setting)
    for setting in KERNEL:
        config.add_setting(setting)
    config.action(None, parse_all, args=(config.registry,), order=10)  # after every declaration
