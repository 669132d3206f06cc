"""C3: the append-only copy of the sealed audit log outside the database
(xueji_site/audit_mirror.py), here as a JSON-lines file: what requests write
reaches it after sealing, catch-up after a crash, no row twice, and the
attack it exists for — an entry edited in the database and the chain rebuilt
with the key — caught by the comparison, as is any edit of the copy itself.
The PostgreSQL sink is tested in tests/storage/test_audit_mirror_pg.py."""
import configparser
import json
import logging
import os
import re
import stat
import time

import pytest
import transaction

from xueji_site.kernel import audit, audit_mirror
from .conftest import Browser, add_user, base_settings, open_site
from .test_backup import keep_keyring  # noqa: F401  (a fixture)
from xueji_site.kernel.root import database

DAY = 86400


@pytest.fixture
def mirror_path(tmp_path):
    return tmp_path / "audit.jsonl"


@pytest.fixture
def settings(key_file, mirror_path):
    """The conftest app, sealing (and shipping) after every writing request."""
    return dict(base_settings(key_file), **{"xueji.audit_seal_seconds": "0",
                                            "xueji.audit_mirror": "file://%s" % mirror_path})


def _rows(path):
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _log_some(site, n, action="test"):
    return [site.audit.append("u-1", "someone", "10.0.0.%d" % i, action, "/", audit.OK, {"n": str(i)}).key
            for i in range(n)]


def _mirrored_site(app, path, extra=3):
    """A user who logged in (entries sealed and shipped by the app) plus ``extra`` entries
    sealed and shipped here; returns the database's head sequence."""
    with open_site(app) as site:
        add_user(site, "plain")
    Browser(app).login("plain")
    with open_site(app) as site:
        _log_some(site, extra)
        audit.seal(site.audit)
    with open_site(app) as site:
        audit_mirror.ship(site.audit, audit_mirror.FileSink(str(path)))
        return site.audit.head[0]


def _problems(app, path):
    with open_site(app) as site:
        return {(p.kind, p.where) for p in audit_mirror.compare(site.audit, audit_mirror.FileSink(str(path)))}


def _rebuild_chain(log, from_seq, keys):
    """What a holder of the key can do: seal ``keys`` afresh from ``from_seq`` on, as
    audit.seal computes seals, so that audit.verify finds nothing."""
    for seq in range(from_seq, log.head[0] + 1):
        if seq in log.seals:
            del log.sealed_at[log.seals[seq][0]], log.seals[seq]
    previous = log.seals[from_seq - 1][2] if from_seq - 1 > log.base[0] else log.base[1]
    seq = from_seq - 1
    for key in keys:
        seq += 1
        entry_digest = audit.digest(key, log.entries[key])
        previous = audit.link(seq, previous, entry_digest)
        log.seals[seq], log.sealed_at[key] = (key, entry_digest, previous), seq
    log.head = (seq, previous)


# -- shipping ----------------------------------------------------------------------------

def test_entries_written_by_requests_are_mirrored_in_seal_order(app, mirror_path):
    with open_site(app) as site:
        add_user(site, "plain")
        _log_some(site, 2)  # written outside a request: waits for the next sealing run
    browser = Browser(app)
    browser.login("plain")  # writing requests: sealed, then shipped, after each commit
    browser.logout()
    rows = _rows(mirror_path)
    with open_site(app) as site:
        log = site.audit
        assert log.head[0] == len(log.entries) >= 4 and not len(log.unsealed)
        assert [r["seq"] for r in rows] == list(range(1, log.head[0] + 1))
        for row in rows:
            key, entry_digest, seal_link = log.seals[row["seq"]]
            assert (row["key"], row["digest"], row["link"]) == (key, entry_digest, seal_link)
            entry = row["entry"]
            record = tuple(entry[f] for f in audit_mirror.FIELDS[:7]) + (tuple(map(tuple, entry["detail"])),)
            assert record == log.entries[key] and audit.digest(key, record) == entry_digest
        assert {"test", "login", "logout"} <= {r["entry"]["action"] for r in rows}
        sink = audit_mirror.FileSink(str(mirror_path))
        assert audit_mirror.compare(log, sink) == [] and audit_mirror.unshipped(log, sink) == 0
    assert stat.S_IMODE(os.stat(mirror_path).st_mode) == 0o600


def test_shipping_twice_writes_nothing_twice(app, mirror_path):
    head = _mirrored_site(app, mirror_path)
    before = mirror_path.read_bytes()
    sink = audit_mirror.FileSink(str(mirror_path))
    with open_site(app) as site:
        assert audit_mirror.ship(site.audit, sink) == 0
        rows = audit_mirror.rows_from(site.audit, 1, head)
    assert sink.append(rows) == 0 and sink.append(rows[-3:]) == 0  # a late shipper holding old rows
    assert mirror_path.read_bytes() == before
    Browser(app).login("plain")  # more entries: only they are added
    seqs = [r["seq"] for r in _rows(mirror_path)]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > head
    assert mirror_path.read_bytes().startswith(before)


def test_a_crash_between_sealing_and_shipping_is_caught_up(app, mirror_path):
    from xueji_site.views import sealer
    head = _mirrored_site(app, mirror_path)
    with open_site(app) as site:  # sealed and committed; the process dies before shipping
        _log_some(site, 4)
        audit.seal(site.audit)
    with open(mirror_path, "ab") as out:  # and a write torn halfway through a line
        out.write(b'{"seq":%d,"key":12' % (head + 1))
    sink = audit_mirror.FileSink(str(mirror_path))
    assert sink.highest() == head
    with open_site(app) as site:
        assert audit_mirror.unshipped(site.audit, sink) == 4
        assert audit_mirror.compare(site.audit, sink) == []  # not yet shipped is not a problem
    assert sealer.seal_now(database(app.registry), "file://%s" % mirror_path) == 0
    text = mirror_path.read_text("utf-8")
    assert text.endswith("\n") and '"key":12\n' not in text and '"key":12{' not in text
    assert [r["seq"] for r in _rows(mirror_path)] == list(range(1, head + 5))
    with open_site(app) as site:
        assert audit_mirror.unshipped(site.audit, sink) == 0 and audit_mirror.compare(site.audit, sink) == []


def test_a_failing_mirror_never_breaks_a_request(key_file, tmp_path, caplog):
    from xueji_site import main
    missing = tmp_path / "not-yet" / "audit.jsonl"
    app = main({}, **dict(base_settings(key_file), **{"xueji.audit_seal_seconds": "0",
                                                      "xueji.audit_mirror": "file://%s" % missing}))
    try:
        with open_site(app) as site:
            add_user(site, "plain")
        with caplog.at_level(logging.ERROR):
            Browser(app).login("plain")  # 303 as usual (login asserts the status)
        assert "shipping failed" in caplog.text and not missing.exists()
        with open_site(app) as site:
            assert site.audit.head[0] == len(site.audit.entries) > 0  # sealing itself went on
        missing.parent.mkdir()
        Browser(app).login("plain")  # the next run catches up from the first seal
        with open_site(app) as site:
            assert [r["seq"] for r in _rows(missing)] == list(range(1, site.audit.head[0] + 1))
    finally:
        database(app.registry).close()


@pytest.mark.parametrize("url", ["ftp://host/audit", "file://relative/audit.jsonl", "file:///var/dir/",
                                 "/var/audit.jsonl"])
def test_a_wrong_mirror_setting_is_refused(url):
    with pytest.raises(ValueError):
        audit_mirror.open_sink(url)
    assert audit_mirror.sink_for({"xueji.audit_mirror": " "}) is None
    assert isinstance(audit_mirror.open_sink("postgresql://app@db:5432/audit"), audit_mirror.PgSink)


# -- the comparison: the database tampered with ---------------------------------------------

def test_an_entry_edited_and_the_chain_rebuilt_with_the_key_is_caught(app, mirror_path):
    head = _mirrored_site(app, mirror_path)
    with open_site(app) as site:
        log = site.audit
        key = log.seals[2][0]
        when, userid, _login, *rest = log.entries[key]
        log.entries[key] = (when, userid, "mallory", *rest)
        _rebuild_chain(log, 2, [log.seals[s][0] for s in range(2, head + 1)])
        assert audit.verify(log) == []  # the database alone looks intact
    assert _problems(app, mirror_path) == {("mirror-entry-changed", key), ("mirror-seal-differs", 2),
                                           ("mirror-chain-rebuilt", 3)}


def test_an_entry_removed_and_the_chain_renumbered_is_caught(app, mirror_path):
    head = _mirrored_site(app, mirror_path)
    with open_site(app) as site:
        log = site.audit
        keys = [log.seals[s][0] for s in range(1, head + 1)]
        gone = keys[2]
        del log.entries[gone]
        log.count.change(-1)
        _rebuild_chain(log, 3, keys[3:])
        assert audit.verify(log) == [] and log.head[0] == head - 1
    problems = _problems(app, mirror_path)
    assert {("mirror-entry-removed", gone), ("mirror-seal-differs", 3), ("mirror-beyond-head", head)} <= problems


def test_rolled_back_seals_and_an_early_purge_are_caught(app, mirror_path):
    head = _mirrored_site(app, mirror_path)
    with open_site(app) as site:  # the last two seals and their entries taken out
        log = site.audit
        for seq in (head, head - 1):
            key = log.seals[seq][0]
            del log.entries[key], log.seals[seq], log.sealed_at[key]
        log.count.change(-2)
        log.head = (head - 2, log.seals[head - 2][2])
        assert audit.verify(log) == []
    assert ("mirror-beyond-head", head - 1) in _problems(app, mirror_path)
    with open_site(app) as site:  # the oldest two removed as if purged, though they are new
        log = site.audit
        first = [log.seals[s][0] for s in (1, 2)]
        log.base = (2, log.seals[2][2])
        for seq, key in zip((1, 2), first):
            del log.entries[key], log.seals[seq], log.sealed_at[key]
        log.count.change(-2)
        assert audit.verify(log) == []
    problems = _problems(app, mirror_path)
    assert {("mirror-purged-early", first[0]), ("mirror-purged-early", first[1])} <= problems


def test_a_lawful_purge_keeps_the_rows_in_the_mirror(app, mirror_path):
    now = time.time()
    with open_site(app) as site:
        for age in (400, 300, 5):
            entry = site.audit.append("", "old", "", "test", "/", "ok", {"age": str(age)})
            site.audit.entries[entry.key] = (now - age * DAY,) + site.audit.entries[entry.key][1:]
        audit.seal(site.audit)
    sink = audit_mirror.FileSink(str(mirror_path))
    with open_site(app) as site:
        assert audit_mirror.ship(site.audit, sink) == 3
    with open_site(app) as site:
        assert audit.purge(site.audit, before=now - 250 * DAY, now=now) == 2
    with open_site(app) as site:
        assert len(_rows(mirror_path)) == 3 and audit_mirror.compare(site.audit, sink, now=now) == []
        assert audit_mirror.ship(site.audit, sink) == 0


# -- the comparison: the mirror tampered with ------------------------------------------------

def _variant(path, name, edit):
    lines = path.read_text("utf-8").splitlines(keepends=True)
    copy = path.with_name(name)
    copy.write_text("".join(edit(lines)), "utf-8")
    return copy


def _edit_row(number, change):
    def edit(lines):
        row = json.loads(lines[number - 1])
        change(row)
        lines[number - 1] = json.dumps(row, ensure_ascii=False) + "\n"
        return lines
    return edit


def test_edited_or_removed_mirror_lines_are_reported(app, mirror_path):
    head = _mirrored_site(app, mirror_path, extra=5)
    assert head >= 6 and _problems(app, mirror_path) == set()

    def login(row):
        row["entry"]["login"] = "mallory"

    def rehash(row):  # and digest and link redone, without the key
        row["entry"]["login"] = "mallory"
        row["digest"], row["link"] = "0" * 64, "1" * 64

    cases = {
        "changed.jsonl": (_edit_row(3, login), {("mirror-row-changed", 3)}),
        "rehashed.jsonl": (_edit_row(3, rehash), {("mirror-row-changed", 3), ("mirror-chain-broken", 3),
                                                  ("mirror-chain-broken", 4)}),
        "gap.jsonl": (lambda lines: lines[:3] + lines[4:], {("mirror-gap", 5)}),
        "head-cut.jsonl": (lambda lines: lines[2:], {("mirror-start-missing", 3)}),
        "doubled.jsonl": (lambda lines: lines[:4] + lines[3:], {("mirror-out-of-order", 4)}),
        "garbage.jsonl": (lambda lines: lines[:2] + ["not json\n"] + lines[2:], {("mirror-unreadable", "line 3")}),
    }
    for name, (edit, expected) in cases.items():
        found = _problems(app, _variant(mirror_path, name, edit))
        mirror_only = {p for p in found if p[0] not in ("mirror-entry-changed", "mirror-seal-differs")}
        assert mirror_only == expected, name
    assert _problems(app, mirror_path) == set()  # the real mirror is untouched


# -- the script ----------------------------------------------------------------------------------

def test_verify_audit_script_ships_and_compares(tmp_path, capsys, keep_keyring):
    from xueji_site.scripts import init, verify_audit
    from .test_scripts import opened, script, write_ini
    ini = write_ini(tmp_path)
    mirror = tmp_path / "mirror" / "audit.jsonl"
    mirror.parent.mkdir()
    config = configparser.ConfigParser(interpolation=None)
    config.read(ini, encoding="utf-8")
    config["app:main"]["xueji.audit_mirror"] = "file://%s" % mirror
    with open(ini, "w", encoding="utf-8") as out:
        config.write(out)
    assert init.main([str(ini), "--admin", "root"]) == 0
    capsys.readouterr()

    sealed = script("xueji-verify-audit", ini, "--seal")
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    shipped = int(re.search(r"shipped (\d+) rows", sealed.stdout).group(1))
    assert shipped == len(_rows(mirror)) > 0
    intact = script("xueji-verify-audit", ini, "--mirror")
    assert intact.returncode == 0 and "seals not shipped yet: 0" in intact.stdout, intact.stdout

    with opened(tmp_path, read_only=False) as site:  # edit an entry, rebuild the chain with the key
        log = site.audit
        key = log.seals[1][0]
        record = log.entries[key]
        log.entries[key] = record[:2] + ("someone-else",) + record[3:]
        _rebuild_chain(log, 1, [log.seals[s][0] for s in range(1, log.head[0] + 1)])
        transaction.commit()
    alone = script("xueji-verify-audit", ini)
    assert alone.returncode == 0 and "audit log intact" in alone.stdout  # the key holder's rebuild passes
    caught = script("xueji-verify-audit", ini, "--mirror")
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert "PROBLEM mirror-entry-changed at %d" % key in caught.stdout and "TAMPERED" in caught.stdout

    assert verify_audit.main([str(ini), "--mirror-setup-sql", "xueji_app"]) == 0
    sql = capsys.readouterr().out
    assert 'GRANT INSERT, SELECT ON xueji_audit_mirror TO "xueji_app"' in sql and "TRUNCATE" in sql
    assert verify_audit.main([str(ini), "--mirror-setup-sql", "x; DROP TABLE y"]) == 2
