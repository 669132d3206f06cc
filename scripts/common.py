"""What every console script shares: reading the ini file, opening the
application and its database, friendly errors, and transactions.

Scripts build the real application from the ini file (``xueji_site.main``)
so that the catalog and audit subscribers are registered, then make its
registry current *without* a request: audit entries then name the actor as
``system`` plus the script's name (see ``audit._actor``).
"""
import argparse
import contextlib
import os
import sys
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import transaction
from xueji_site.kernel.root import database, databases
from xueji_site.kernel.transport import describe
from xueji_site.schemas.accounts import password_problems
from xueji_site.kernel.root import get_site
from xueji_site.kernel import security

STORAGE_NOTE = """\
Note: a FileStorage (file:// in zodbconn.uri) can be opened by one process only.
Stop the running site before using this script on it, or run the site on ZEO or
RelStorage (zeo:// or postgres:// in zodbconn.uri), which many processes can share.
注意：FileStorage 只能被一个进程打开；站点运行时请先停止，或改用 ZEO / RelStorage。"""

EXIT_USAGE = 2      # bad arguments (argparse uses 2 as well)
EXIT_ENV = 3        # the ini file, key file or database is not usable


class ScriptError(Exception):
    """A problem the user can fix; printed without a traceback."""

    def __init__(self, message, code=EXIT_USAGE):
        super().__init__(message)
        self.code = code


def make_parser(prog, description):
    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog=STORAGE_NOTE,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", metavar="CONFIG",
                        help="the ini file, e.g. development.ini or production.ini")
    return parser


def run(main_function, argv=None):
    """Call ``main_function(argv)``; turn ScriptError into a message and exit code."""
    try:
        return main_function(argv) or 0
    except ScriptError as exc:
        print("error / 错误: %s" % exc, file=sys.stderr)
        return exc.code
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted / 已中断 (work committed so far is kept)", file=sys.stderr)
        return 130


# -- the ini file ------------------------------------------------------------

def config_uri(path):
    if not os.path.isfile(path):
        raise ScriptError("config file not found / 找不到配置文件: %s" % path, EXIT_ENV)
    return os.path.abspath(path)


def app_settings(uri):
    """The [app:main] settings with %(here)s expanded."""
    import plaster
    try:
        settings = dict(plaster.get_loader(uri, protocols=["wsgi"]).get_settings("app:main"))
    except Exception as exc:  # a broken ini file: show the parser's reason
        raise ScriptError("cannot read %s: %s" % (uri, exc), EXIT_ENV)
    for key in ("zodbconn.uri", "xueji.key_file"):
        if not settings.get(key):
            raise ScriptError("%s has no %s in [app:main]" % (uri, key), EXIT_ENV)
    return settings


def file_storage_path(settings):
    """The Data.fs path when the database is a FileStorage (file:// URI), else None."""
    parts = urlsplit(settings["zodbconn.uri"])
    if parts.scheme != "file":
        return None
    return unquote(parts.path)


def describe_storage(settings):
    """The storage for messages, without credentials or query options."""
    return describe(settings["zodbconn.uri"])


def read_password_file(path):
    """The first line of ``path``, without its line ending."""
    try:
        with open(path, encoding="utf-8") as src:
            password = src.readline().rstrip("\r\n")
    except OSError as exc:
        raise ScriptError("cannot read password file %s: %s" % (path, exc.strerror))
    if not password:
        raise ScriptError("password file %s is empty / 密码文件为空" % path)
    return password


def check_password_rules(password, login):
    """Refuse a password the site itself would refuse."""
    problems = password_problems(password, login)
    if problems:
        raise ScriptError("password refused / 密码不符合规则: " +
                          "; ".join(p.interpolate() for p in problems))


# -- the application -----------------------------------------------------------

@dataclass
class Env:
    app: object
    registry: object
    db: object
    settings: dict


def require_initialised(settings):
    """adduser and demo work on an existing site: the key file and database must exist."""
    if not os.path.isfile(settings["xueji.key_file"]):
        raise ScriptError("encryption key file %s does not exist; run xueji-init first"
                          % settings["xueji.key_file"], EXIT_ENV)
    path = file_storage_path(settings)
    if path and not os.path.isfile(path):
        raise ScriptError("no database at %s; run xueji-init first" % path, EXIT_ENV)


@contextlib.contextmanager
def open_app(uri):
    """The application built from ``uri`` with its registry current; closes the database."""
    from pyramid.paster import get_app
    from pyramid.threadlocal import manager
    from zc.lockfile import LockError
    try:
        app = get_app(uri, "main")
    except LockError:
        raise ScriptError("the database is locked by another process (is the site running?). "
                          + STORAGE_NOTE, EXIT_ENV)
    except FileNotFoundError as exc:
        raise ScriptError("file not found: %s" % exc.filename, EXIT_ENV)
    registry = app.registry
    db = database(registry)
    manager.push({"registry": registry, "request": None})
    try:
        yield Env(app, registry, db, dict(registry.settings))
    finally:
        manager.pop()
        for each in databases(registry).values():
            each.close()


@contextlib.contextmanager
def site_transaction(env, note):
    """A connection, its site and one transaction committed on success."""
    tm = transaction.TransactionManager(explicit=True)
    conn = env.db.open(transaction_manager=tm)
    txn = tm.begin()
    txn.note(note)
    txn.user = "system " + script_name()
    try:
        yield conn, get_site(conn)
        tm.commit()
    except BaseException:
        tm.abort()
        raise
    finally:
        conn.close()


def script_name():
    return os.path.basename(sys.argv[0]) or "script"


def resolve_path(site, path):
    """The node at a tree path like /330000/330106/2133000001, or ScriptError."""
    node = site
    walked = ""
    for part in [p for p in path.split("/") if p]:
        child = node.get(part) if hasattr(node, "get") else None
        walked += "/" + part
        if child is None or getattr(child, "content_type", None) is None:
            raise ScriptError("no such node / 找不到节点: %s" % walked)
        node = child
    return node


LOGIN_RE = r"^[A-Za-z0-9_.@\-]{2,64}$"


def check_login(login):
    """Logins follow the same rule as the sharing form's."""
    import re
    if not re.match(LOGIN_RE, login or ""):
        raise ScriptError("invalid login %r: use 2-64 letters, digits and _ . @ - "
                          "/ 登录名只能包含字母、数字和 _ . @ -" % login)
    return login.strip().lower()


def grant(site, user, node, role, registry):
    """Add ``role`` to ``user``'s local roles at ``node``; return False if already held."""
    held = set(security.local_roles_of(node, user.userid))
    if role in held:
        return False
    security.set_local_roles(node, user.userid, held | {role}, registry=registry, user=user)
    return True
