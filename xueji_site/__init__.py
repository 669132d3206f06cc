"""xueji: the national student registry.

``main`` builds the WSGI application from an ini file's settings: ZODB from a
URI (FileStorage, ZEO or RelStorage), one transaction per request with
retries, a default-deny security policy and CSRF on every unsafe method.
"""
import os

from pyramid.config import Configurator
from pyramid.session import SignedCookieSessionFactory

from pyramid_zodbconn import get_connection

from xueji_site.kernel import compile_lock, crypto, permissions, settings as xueji_settings, transport, users
from xueji_site.tree import class_size
from xueji_site.kernel.i18n import negotiate_locale
from xueji_site.kernel.policy import SecurityPolicy, csrf_applies, request_site, request_user
from xueji_site.kernel.root import ensure_site, get_site
from xueji_site.kernel.root import database


def root_factory(request):
    return get_site(get_connection(request))


def _session_factory(settings):
    secret = settings.get("xueji.session_secret")
    if not secret or len(secret) < 32:
        raise ValueError("xueji.session_secret must be set to at least 32 characters")
    return SignedCookieSessionFactory(
        secret,
        cookie_name="xueji",
        secure=xueji_settings.raw(settings, "xueji.secure_cookies"),
        httponly=True,
        samesite="Lax",
        timeout=xueji_settings.raw(settings, "xueji.session_idle_timeout"),
        reissue_time=60,
        serializer=None,
    )


# The feature packages, each registering its types, roles, indexes, approval
# processes and evolve steps from its includeme; ``xueji.includes`` adds more.
FEATURES = (
    "xueji_site.tree",
    "xueji_site.record",
    "xueji_site.status",
    "xueji_site.graduates",
    "xueji_site.search",
    "xueji_site.exports",
    "xueji_site.grades",
)


def configure(settings):
    """The Configurator with everything but the database; tests reuse it."""
    settings = dict(settings)
    settings.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    settings.setdefault("retry.attempts", "3")
    settings.setdefault("pyramid.default_locale_name", "zh_Hans")
    transport.check(settings)
    class_size.check(settings)  # xueji.class_size.* are whole numbers
    compile_lock.install()
    crypto.install(crypto.load_key_file(settings["xueji.key_file"]))
    users.set_bcrypt_rounds(xueji_settings.raw(settings, "xueji.bcrypt_rounds"))

    config = Configurator(settings=settings, root_factory=root_factory)
    config.include("pyramid_chameleon")
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    config.include("pyramid_zodbconn")
    config.set_session_factory(_session_factory(settings))
    config.set_security_policy(SecurityPolicy())
    config.set_default_permission(permissions.UNSET)
    config.set_default_csrf_options(require_csrf=True, callback=csrf_applies)  # bearer API: no CSRF
    config.set_locale_negotiator(negotiate_locale)
    config.add_translation_dirs("colander:locale", "deform:locale", "xueji_site:locale")
    config.add_request_method(request_site, "site", reify=True)
    config.add_request_method(request_user, "user", reify=True)
    config.include("xueji_site.kernel")
    for feature in FEATURES + xueji_settings.raw(settings, "xueji.includes"):
        config.include(feature)
    config.include("xueji_site.views")
    return config


def registrations(includes=()):
    """A registry holding every feature's registrations and nothing else (no
    database, no key, no views): what scripts' help texts and checks read."""
    config = Configurator(settings={})
    config.include("xueji_site.kernel")
    for feature in FEATURES + tuple(includes):
        config.include(feature)
    config.commit()
    return config.registry


def main(global_config, **settings):
    here = global_config.get("here", os.getcwd()) if global_config else os.getcwd()
    settings.setdefault("here", here)
    config = configure(settings)
    app = config.make_wsgi_app()
    ensure_site(database(app.registry), app.registry)
    return app
