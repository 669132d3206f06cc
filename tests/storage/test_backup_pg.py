"""E1 on PostgreSQL: xueji-backup's pg_dump of a real (throwaway) server, streamed through age.

The dump lands in DEST as one age file (no clear dump, no part file), which only the
right private key decrypts, into a custom-format dump that pg_restore lists and that
holds the data; a failed dump leaves nothing. Skips like the other PostgreSQL tests when no server can be started
(fails under XUEJI_REQUIRE_PG=1: see conftest).
"""
import os
import subprocess
import sys

import pytest

from xueji_site.scripts import backup

from .conftest import PG_BIN

pytestmark = pytest.mark.storage

PUPIL = "欧阳晓雯"


def _decrypt(ini, path, identity):
    """xueji-backup --decrypt as an operator runs it: (exit code, stdout bytes, stderr text)."""
    result = subprocess.run([sys.executable, "-m", "xueji_site.scripts.backup", str(ini), "--decrypt", str(path),
                             "--identity", str(identity)], capture_output=True, timeout=60)
    return result.returncode, result.stdout, result.stderr.decode("utf-8", "replace")


def test_pg_dump_is_encrypted_on_its_way_and_decrypts_to_a_restorable_dump(pg_server, tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.setenv("PATH", PG_BIN + os.pathsep + os.environ["PATH"])  # this server's pg_dump
    dbname = pg_server.create_database()
    try:
        conn = pg_server.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE pupils (name text)")
                cur.execute("INSERT INTO pupils VALUES (%s)", (PUPIL,))
            conn.commit()
        finally:
            conn.close()
        identity, other = tmp_path / "key.txt", tmp_path / "other.txt"
        ini = tmp_path / "pg.ini"
        ini.write_text("[app:main]\nuse = egg:xueji\nzodbconn.uri = %s\nxueji.key_file = %s\n"
                       % (pg_server.uri(dbname), tmp_path / "k"))
        assert backup.main([str(ini), "--new-identity", str(other)]) == 0
        assert backup.main([str(ini), "--new-identity", str(identity)]) == 0
        public = capsys.readouterr().out.rsplit("= ", 1)[1].strip()
        with open(ini, "a") as out:
            out.write("xueji.backup_recipients = %s\n" % public)
        dest = tmp_path / "dumps"

        assert backup.main([str(ini), "--dest", str(dest)]) == 0
        assert "(encrypted)" in capsys.readouterr().out
        [name] = os.listdir(dest)
        assert name.startswith("xueji-") and name.endswith(".dump.age")
        sealed = (dest / name).read_bytes()
        assert sealed.startswith(b"age-encryption.org/v1\n") and PUPIL.encode() not in sealed
        assert b"PGDMP" not in sealed  # pg_dump's own header: not a byte of the dump is in clear

        code, dump, err = _decrypt(ini, dest / name, other)
        assert code == 3 and dump == b"" and "cannot decrypt" in err and "Traceback" not in err
        code, dump, err = _decrypt(ini, dest / name, identity)
        assert code == 0, err
        assert dump.startswith(b"PGDMP")
        clear = tmp_path / "clear.dump"
        clear.write_bytes(dump)
        listed = subprocess.run([os.path.join(PG_BIN, "pg_restore"), "--list", str(clear)],
                                capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert "TABLE DATA public pupils" in listed.stdout
        script = subprocess.run([os.path.join(PG_BIN, "pg_restore"), "-f", "-", str(clear)],
                                capture_output=True, timeout=60)
        assert script.returncode == 0 and PUPIL.encode() in script.stdout  # the dump does hold the name

        # a dump that fails (no such database) leaves no file behind, not even a part
        broken = tmp_path / "broken.ini"
        broken.write_text(ini.read_text().replace(dbname, dbname + "_missing"))
        # (its own folder: a second dump into DEST within the same second is refused before pg_dump runs)
        failed = tmp_path / "failed"
        assert backup.main([str(broken), "--dest", str(failed)]) == 1
        assert "pg_dump failed" in capsys.readouterr().err
        assert os.listdir(failed) == [] and os.listdir(dest) == [name]
    finally:
        pg_server.drop_database(dbname)
