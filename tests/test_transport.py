"""Startup refuses a storage reached in clear over the network (security.md D1)."""
import configparser
from pathlib import Path

import pytest

from xueji_site.kernel import transport

from .conftest import base_settings

REMOTE_PG = "postgres://xueji:secret@db.internal:5432/xueji?keep_history=false"


@pytest.mark.parametrize("uri,environ,insecure", [
    ("file:///srv/xueji/Data.fs", {}, False),
    ("memory://", {}, False),
    ("postgres://xueji:secret@localhost:5432/xueji", {}, False),
    ("postgres://xueji:secret@127.0.0.1:5432/xueji", {}, False),
    ("postgres://xueji:secret@[::1]:5432/xueji", {}, False),
    (REMOTE_PG, {}, True),
    (REMOTE_PG, {"PGSSLMODE": "require"}, True),      # encrypted but the server is not verified
    (REMOTE_PG, {"PGSSLMODE": "verify-full"}, False),
    ("postgres://xueji:secret@10.0.0.5:5432/xueji", {}, True),
    ("zeo://127.0.0.1:8100?storage=1", {}, False),
    ("zeo://zeo.internal:8100?storage=1", {}, True),
])
def test_storage_transport_table(uri, environ, insecure):
    assert bool(transport.problem(uri, environ)) is insecure


def test_zconfig_files_must_name_tls_for_a_remote_storage(tmp_path):
    plain = tmp_path / "plain.conf"
    plain.write_text("<zodb>\n <zeoclient>\n  server zeo.internal:8100\n </zeoclient>\n</zodb>\n")
    tls = tmp_path / "tls.conf"
    tls.write_text("<zodb>\n <zeoclient>\n  server zeo.internal:8100\n  <ssl>\n   certificate /etc/c.pem\n"
                   "  </ssl>\n </zeoclient>\n</zodb>\n")
    local = tmp_path / "local.conf"
    local.write_text("<zodb>\n <zeoclient>\n  server 127.0.0.1:8100\n </zeoclient>\n</zodb>\n")
    assert transport.problem("zconfig://%s" % plain, {})
    assert transport.problem("zconfig://%s" % tls, {}) is None
    assert transport.problem("zconfig://%s" % local, {}) is None
    assert "cannot read" in transport.problem("zconfig://%s" % (tmp_path / "missing.conf"), {})


def test_the_application_refuses_to_start_on_a_clear_remote_database(key_file, monkeypatch):
    from xueji_site import main
    monkeypatch.delenv("PGSSLMODE", raising=False)
    settings = dict(base_settings(key_file, uri=REMOTE_PG), **{"xueji.secure_cookies": "true"})
    with pytest.raises(transport.InsecureTransport, match="PGSSLMODE=verify-full"):
        main({}, **settings)
    # development (cookies not secure) and an explicit "off" do not check
    transport.check(dict(settings, **{"xueji.secure_cookies": "false"}))
    transport.check(dict(settings, **{"xueji.storage_tls": "off"}))
    with pytest.raises(transport.InsecureTransport):
        transport.check(dict(settings, **{"xueji.secure_cookies": "false", "xueji.storage_tls": "required"}))


def test_production_ini_needs_verified_tls_to_start():
    """A deploy check on the shipped production.ini, placeholders filled in."""
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(Path(__file__).resolve().parents[1] / "production.ini", encoding="utf-8")
    settings = {k: v.replace("FILL_PG_HOST", "db.internal") for k, v in ini["app:main"].items()}
    with pytest.raises(transport.InsecureTransport):
        transport.check(settings, environ={})
    transport.check(settings, environ={"PGSSLMODE": "verify-full"})
