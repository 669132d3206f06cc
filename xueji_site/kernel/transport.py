"""Refuse to start on a database reached in clear over the network (security.md D1).

Pickles are code: whoever can read or write the traffic between an
application server and its storage reads every record and can run code on the
server. So when ``xueji.storage_tls`` is ``required`` (the default whenever
cookies are secure, i.e. in production) a storage on another host must be
reached over verified TLS:

- PostgreSQL (RelStorage): ``PGSSLMODE=verify-full`` in the service
  environment (libpq reads it; set ``PGSSLROOTCERT`` too). RelStorage's own
  ``ssl_mode`` URI parameter is passed to libpq under that name, which libpq
  does not know, so the environment is the dependable way; a ``zconfig://``
  file whose ``dsn`` says ``sslmode=verify-full`` is accepted as well.
- ZEO: a ``zconfig://`` file whose client section has an ``<ssl>`` section;
  a plain ``zeo://`` URI has no TLS.

A file, memory, unix-socket or loopback storage needs none. ``off`` is for a
private network the operator vouches for (say so in the ini).
"""
import ipaddress
import os
import re
from urllib.parse import parse_qs, unquote, urlsplit

from pyramid.settings import asbool

from xueji_site.kernel import settings as xueji_settings

LOCAL_HOSTS = {"", "localhost"}


class InsecureTransport(ValueError):
    """The storage would be reached in clear over the network."""


def is_local(host):
    if host is None or host.lower() in LOCAL_HOSTS or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def required(settings):
    value = xueji_settings.raw(settings, "xueji.storage_tls").lower()
    if value in ("required", "off"):
        return value == "required"
    return xueji_settings.raw(settings, "xueji.secure_cookies")


def problem(uri, environ=None):
    """Why ``uri`` would carry data in clear over the network, or None."""
    environ = os.environ if environ is None else environ
    scheme = uri.split(":", 1)[0].lower()
    if scheme in ("postgres", "postgresql"):
        parts = urlsplit(uri)
        host = parse_qs(parts.query).get("host", [parts.hostname])[0]
        if is_local(host) or environ.get("PGSSLMODE") == "verify-full":
            return None
        return ("PostgreSQL on %s without verified TLS: set PGSSLMODE=verify-full (and PGSSLROOTCERT) "
                "in the service environment" % host)
    if scheme == "zeo":
        host = urlsplit(uri).hostname
        if is_local(host):
            return None
        return ("ZEO on %s over a plain zeo:// URI has no TLS: use a zconfig:// file with an <ssl> "
                "section in the client" % host)
    if scheme == "zconfig":
        return _zconfig_problem(uri)
    return None


def _zconfig_problem(uri):
    path = urlsplit(uri).path
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        return "cannot read %s: %s" % (path, error.strerror)
    if re.search(r"<ssl\b", text, re.I) or re.search(r"sslmode\s*=\s*verify-full", text):
        return None
    hosts = re.findall(r"\b(?:server|host)\s*=?\s*['\"]?([\w.:-]+)", text)
    if hosts and all(is_local(h.rsplit(":", 1)[0]) for h in hosts):
        return None
    return "%s names no TLS (<ssl> section or sslmode=verify-full) for its storage" % path


def describe(uri):
    """A storage (or mirror) URI without credentials or options, for messages."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return unquote(parts.path)
    host = parts.hostname or ""
    port = ":%s" % parts.port if parts.port else ""
    return "%s://%s%s%s" % (parts.scheme, host, port, parts.path)


def check(settings, environ=None):
    """Raise InsecureTransport when TLS is required and the storage URI lacks it."""
    if not required(settings):
        return
    for key, uri in settings.items():
        if key == "zodbconn.uri" or key.startswith("zodbconn.uri."):
            found = problem(uri, environ)
            if found:
                raise InsecureTransport(found + " (or set xueji.storage_tls = off for a private network)")
